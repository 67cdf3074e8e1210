"""Asks a wangge server what OWSLib's OGC API Features client sees.

Usage: python3 features.py URL BBOX DATETIME
Prints one JSON object of what it found; api/ogc_test.go (TestOWSLib)
compares it with the server's own numbers. Debian: python3-owslib, and
python3-gdal for the CRS check: items asked for in CGCS2000 (EPSG:4490,
OGC API Features Part 2) are taken to CRS84 by PROJ through GDAL's osr,
which knows EPSG:4490's axis order (latitude first) on its own.
"""
import json
import sys

from osgeo import osr
from owslib.ogcapi.features import Features

EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def main():
    url, bbox, when = sys.argv[1], [float(v) for v in sys.argv[2].split(",")], sys.argv[3]
    api = Features(url)
    out = {
        "conformsTo": api.conformance()["conformsTo"],
        "collections": api.feature_collections(),
    }
    page = api.collection_items("hazards", limit=5)
    out["items"] = {"matched": page["numberMatched"], "returned": len(page["features"])}
    page = api.collection_items("hazards", bbox=bbox, limit=1)
    out["bbox"] = {"matched": page["numberMatched"], "returned": len(page["features"])}
    page = api.collection_items("hazards", datetime=when, limit=1000)
    out["datetime"] = {"matched": page["numberMatched"],
                       "reported_at": sorted(f["properties"]["reported_at"] for f in page["features"])}
    coll = api.collection("hazards")
    out["crs"] = {"list": coll["crs"], "storageCrs": coll.get("storageCrs")}
    page = api.collection_items("hazards", limit=5, crs=EPSG4490)
    cgcs, crs84 = osr.SpatialReference(), osr.SpatialReference()
    cgcs.ImportFromEPSG(4490)  # authority axis order: lat, lon
    crs84.SetFromUserInput("OGC:CRS84")
    to84 = osr.CoordinateTransformation(cgcs, crs84)
    out["crs"]["epsg4490LatFirst"] = bool(cgcs.EPSGTreatsAsLatLong())
    out["crs"]["ids"] = [f["id"] for f in page["features"]]
    out["crs"]["lonLat"] = [list(to84.TransformPoint(*f["geometry"]["coordinates"])[:2]) for f in page["features"]]
    q = api.collection_queryables("hazards")
    out["queryables"] = {"id": q["$id"], "properties": sorted(q["properties"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Asks a wangge server what OWSLib's OGC API Features client sees.

Usage: python3 features.py URL BBOX DATETIME
Prints one JSON object of what it found; api/ogc_test.go (TestOWSLib)
compares it with the server's own numbers. Debian: python3-owslib.
"""
import json
import sys

from owslib.ogcapi.features import Features


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
    q = api.collection_queryables("hazards")
    out["queryables"] = {"id": q["$id"], "properties": sorted(q["properties"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

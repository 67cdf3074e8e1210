// "What is near me" without signal: the kept events within a radius of a
// point, nearest first, as /v1/nearby answers it online (open events only,
// each with distance_m), so the field page shows one list either way.
import { isOpen } from "../events.js";

const earthRadius = 6378137; // metres: orb.EarthRadius, the sphere the server measures nearby on

/** The great-circle distance in metres between two WGS 84 points. */
export function haversine([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * earthRadius * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * The open events of features (GeoJSON Point features of hazards) within
 * radius metres of p (WGS 84), nearest first, at most limit: a
 * FeatureCollection whose features carry properties.distance_m.
 */
export function nearbyEvents(features, p, radius, limit = 10) {
  const near = [];
  for (const f of features || []) {
    const g = f && f.geometry;
    if (!g || g.type !== "Point" || !isOpen(f.properties.status)) continue;
    const d = haversine(p, g.coordinates);
    if (d <= radius) near.push({ ...f, properties: { ...f.properties, distance_m: d } });
  }
  near.sort((a, b) => a.properties.distance_m - b.properties.distance_m);
  return { type: "FeatureCollection", features: near.slice(0, limit) };
}

/**
 * The events to keep on the device, at most max: the open ones first, then
 * the latest reported; capped reports whether some were left out.
 */
export function eventsToKeep(features, max) {
  const open = [], closed = [];
  for (const f of features || []) (isOpen(f.properties.status) ? open : closed).push(f);
  const latest = (a, b) => String(b.properties.reported_at || "").localeCompare(String(a.properties.reported_at || ""));
  open.sort(latest);
  closed.sort(latest);
  const all = [...open, ...closed];
  return { events: all.slice(0, max), capped: all.length > max };
}

// GCJ-02 and BD-09 to WGS 84 on the device, a port of spatial/crs.go: the
// published GCJ-02 offset on the Krasovsky 1940 ellipsoid, inverted by
// fixed-point iteration to better than 1e-7° (the one-step inverse most
// ports use is off by metres, enough to put a point near a grid's edge in
// the wrong grid). Outside the standard's box around China nothing moves.

const gcjA = 6378245.0;
const gcjEE = 0.00669342162296594323;
const bdXPi = (Math.PI * 3000.0) / 180.0;
const tolerance = 1e-10;

/** Whether the GCJ-02 offset does not apply at [lon, lat] (the standard's coarse box). */
export function outsideChina([lon, lat]) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

const finite = ([x, y]) => Number.isFinite(x) && Number.isFinite(y);

/** The GCJ-02 shift in degrees at a WGS 84 point: [dLon, dLat]. */
function gcjOffset([lon, lat]) {
  const x = lon - 105.0, y = lat - 35.0, pi = Math.PI;
  const common = 0.1 * x * y + ((20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0) / 3.0;
  const fLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + common + 0.2 * Math.sqrt(Math.abs(x)) +
    ((20.0 * Math.sin(y * pi) + 40.0 * Math.sin((y / 3.0) * pi)) * 2.0) / 3.0 +
    ((160.0 * Math.sin((y / 12.0) * pi) + 320.0 * Math.sin((y * pi) / 30.0)) * 2.0) / 3.0;
  const fLon = 300.0 + x + 2.0 * y + 0.1 * x * x + common + 0.1 * Math.sqrt(Math.abs(x)) +
    ((20.0 * Math.sin(x * pi) + 40.0 * Math.sin((x / 3.0) * pi)) * 2.0) / 3.0 +
    ((150.0 * Math.sin((x / 12.0) * pi) + 300.0 * Math.sin((x / 30.0) * pi)) * 2.0) / 3.0;
  const rad = (lat * pi) / 180.0;
  const s = Math.sin(rad);
  const w = 1 - gcjEE * s * s;
  const sw = Math.sqrt(w);
  const dLat = (fLat * 180.0) / (((gcjA * (1 - gcjEE)) / (w * sw)) * pi);
  const dLon = (fLon * 180.0) / ((gcjA / sw) * Math.cos(rad) * pi);
  return [dLon, dLat];
}

/** WGS 84 → GCJ-02; outside China the point is returned unchanged. */
export function wgs84ToGcj02(p) {
  if (outsideChina(p)) return [p[0], p[1]];
  const [dLon, dLat] = gcjOffset(p);
  return [p[0] + dLon, p[1] + dLat];
}

/** GCJ-02 → WGS 84, by fixed-point iteration to 1e-10°. */
export function gcj02ToWgs84(g) {
  if (outsideChina(g) || !finite(g)) return [g[0], g[1]];
  const w = [g[0], g[1]];
  for (let i = 0; i < 20; i++) {
    const f = wgs84ToGcj02(w);
    const ex = g[0] - f[0], ey = g[1] - f[1];
    w[0] += ex;
    w[1] += ey;
    if (Math.abs(ex) < tolerance && Math.abs(ey) < tolerance) break;
  }
  return w;
}

/** GCJ-02 → BD-09 (Baidu's offset). */
export function gcj02ToBd09([x, y]) {
  const z = Math.hypot(x, y) + 0.00002 * Math.sin(y * bdXPi);
  const th = Math.atan2(y, x) + 0.000003 * Math.cos(x * bdXPi);
  return [z * Math.cos(th) + 0.0065, z * Math.sin(th) + 0.006];
}

/** BD-09 → GCJ-02: the closed-form inverse, then refined to 1e-10°. */
export function bd09ToGcj02(b) {
  if (!finite(b)) return [b[0], b[1]];
  const x = b[0] - 0.0065, y = b[1] - 0.006;
  const z = Math.hypot(x, y) - 0.00002 * Math.sin(y * bdXPi);
  const th = Math.atan2(y, x) - 0.000003 * Math.cos(x * bdXPi);
  const g = [z * Math.cos(th), z * Math.sin(th)];
  for (let i = 0; i < 10; i++) {
    const f = gcj02ToBd09(g);
    const ex = b[0] - f[0], ey = b[1] - f[1];
    g[0] += ex;
    g[1] += ey;
    if (Math.abs(ex) < tolerance && Math.abs(ey) < tolerance) break;
  }
  return g;
}

/** A point given in crs ("wgs84", "gcj02" or "bd09") in WGS 84. */
export function toWgs84(p, crs = "wgs84") {
  switch (crs) {
    case "gcj02": return gcj02ToWgs84(p);
    case "bd09": return gcj02ToWgs84(bd09ToGcj02(p));
    case "wgs84": return [p[0], p[1]];
  }
  throw new Error(`unknown crs ${crs}`);
}

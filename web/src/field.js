// The field view: which grid is this point in, who serves it, how far is
// its edge, and what hazards and cameras are near.
import { api } from "./api.js";
import { categoryColours, circle } from "./layers.js";
import { $, el, kvTable, label, metres, num, showError } from "./ui.js";

export class Field {
  constructor(ctx) {
    this.ctx = ctx;
    this.map = ctx.map;
    this.seq = 0;
    $("#geolocate").addEventListener("click", () => this.geolocate());
    $("#coord-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const form = e.target;
      const m = form.coords.value.trim().match(/^(-?\d+(?:\.\d+)?)\s*[,\s]\s*(-?\d+(?:\.\d+)?)$/);
      if (!m) {
        showError("Point", new Error("type the longitude and the latitude as two numbers, e.g. 9.5209, 47.1410"));
        return;
      }
      const lon = Number(m[1]), lat = Number(m[2]);
      this.locate(lon, lat, `typed point (${form.crs.selectedOptions[0].textContent})`, form.crs.value).then((p) => {
        if (p) this.map.flyTo({ center: p, zoom: Math.max(this.map.getZoom(), 15) });
      });
    });
  }

  enter() {
    this.map.getCanvas().style.cursor = "pointer";
  }

  leave() {
    this.map.getSource("pick").setData({ type: "FeatureCollection", features: [] });
  }

  click(e) {
    this.locate(e.lngLat.lng, e.lngLat.lat, "clicked point");
  }

  geolocate() {
    if (!navigator.geolocation) {
      showError("Location", new Error("this browser cannot tell where it is; click the map instead"));
      return;
    }
    const btn = $("#geolocate");
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        btn.disabled = false;
        // Browsers report WGS 84, so no crs parameter is needed.
        this.locate(pos.coords.longitude, pos.coords.latitude, `your location (±${Math.round(pos.coords.accuracy)} m)`);
        this.map.flyTo({ center: [pos.coords.longitude, pos.coords.latitude], zoom: Math.max(this.map.getZoom(), 15) });
      },
      (err) => {
        btn.disabled = false;
        const why = { 1: "permission to use the location was refused", 2: "the location is not available", 3: "finding the location took too long" }[err.code] || err.message;
        showError("Location", new Error(`${why}; click the map instead`));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  /**
   * Locates a point given in crs (WGS 84 by default) and shows the answer;
   * resolves with the point in WGS 84, or null when it failed.
   */
  async locate(lon, lat, what, crs = "wgs84") {
    const seq = ++this.seq;
    const out = $("#field-result");
    if (crs === "wgs84") this.mark([lon, lat]);
    out.replaceChildren(el("p", { class: "note" }, `Looking up ${lon.toFixed(6)}, ${lat.toFixed(6)}…`));
    const { have } = this.ctx;
    if (!have.has("GET /v1/locate")) {
      out.replaceChildren(el("p", {}, "This server cannot locate points yet (GET /v1/locate)."));
      return;
    }
    const radius = Number($("#radius").value) || 300;
    const q = `lon=${lon}&lat=${lat}${crs === "wgs84" ? "" : `&crs=${crs}`}`;
    const nearby = (kind) => (have.has("GET /v1/nearby")
      ? api(`v1/nearby?${q}&kind=${kind}&radius_m=${radius}&limit=10`).catch((e) => (showError(`Nearby ${kind}`, e), null))
      : Promise.resolve(null));
    let loc;
    try {
      [loc] = await Promise.all([api(`v1/locate?${q}`)]);
    } catch (e) {
      if (seq === this.seq) out.replaceChildren();
      showError("Locate", e);
      return null;
    }
    if (crs !== "wgs84") this.mark(loc.point);
    const [hz, cams] = await Promise.all([nearby("hazards"), nearby("cameras")]);
    if (seq !== this.seq) return null; // a later click won
    this.mark(loc.point, radius);
    const g = loc.grid;
    this.map.setFilter("grids-selected", ["==", ["get", "code"], g ? g.code : ""]);
    const head = g
      ? el("h3", { id: "field-grid", dataset: { code: g.code } }, `Grid ${g.code}`, g.name ? ` ${g.name}` : "")
      : el("h3", { id: "field-grid", dataset: { code: "" } }, "Outside every grid");
    const parents = (loc.parents || []).map(label).join(" › ") || "—";
    out.replaceChildren(
      el("div", { id: "field-point", dataset: { lon: String(lon), lat: String(lat), crs } },
        el("small", {}, `${what}: ${lon.toFixed(6)}, ${lat.toFixed(6)}`, crs === "wgs84" ? "" : ` → WGS 84 ${loc.point[0].toFixed(6)}, ${loc.point[1].toFixed(6)}`)),
      head,
      kvTable([
        g ? ["worker", g.worker || "not assigned"] : null,
        g ? ["households", num(g.households)] : null,
        g ? ["area", `${num(g.area_m2 / 1e4)} ha`] : null,
        ["parents", parents],
        g ? ["to the edge", metres(loc.distance_to_boundary_m)] : null,
      ]),
      this.list(`Hazards within ${radius} m`, hz, (p) => {
        const s = el("span", { class: "swatch" });
        s.style.setProperty("background", categoryColours[p.category] || "#666");
        return [s, `${p.category}, severity ${p.severity}, ${String(p.status).replace("_", " ")}`, el("small", {}, ` ${String(p.reported_at || "").slice(0, 10)}`)];
      }),
      this.list(`Cameras within ${radius} m`, cams, (p) => [`camera ${p.source_id || p.id || ""}, ${p.status}, facing ${Math.round(p.azimuth)}°, ${Math.round(p.range_m)} m`]),
    );
    return loc.point;
  }

  /** Marks a WGS 84 point, and the search circle when radius is given. */
  mark(p, radius) {
    const feats = [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }];
    if (radius) feats.push(circle(p, radius));
    this.map.getSource("pick").setData({ type: "FeatureCollection", features: feats });
  }

  list(title, fc, describe) {
    if (!fc) return null;
    const items = fc.features.map((f) => el("li", {}, ...describe(f.properties), el("span", { class: "dist" }, ` ${metres(f.properties.distance_m)}`)));
    return el("section", {}, el("h4", {}, title), items.length ? el("ol", { class: "near" }, items) : el("p", { class: "note" }, "none"));
  }
}

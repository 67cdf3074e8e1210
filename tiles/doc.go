// Package tiles renders wangge's data as Mapbox Vector Tiles (spec 2.1):
// the layers grids, areas, streets, units, hazards, cameras and hotspots,
// tile addressing and path parsing, per-zoom simplification that keeps shared edges shared,
// point layers that follow writes in time proportional to the write, an
// in-memory cache of encoded tiles that a write invalidates by place, and
// the TileJSON and MapLibre style documents that describe them.
//
// # Layers
//
//   - grids: the published plan's grids (code, name, parent_code,
//     households, deviation_pct from the plan's target, area_km2, worker;
//     risk, the grid's risk level, which live sets with Polygons.WithExtra
//     and Scene.WithGrids as events change it).
//   - areas: administrative areas (code, name, name_en, level, parent_code).
//   - streets: roads, rivers and railways as lines (kind, class, name),
//     each from the zoom its class needs (StreetMinZoom), simplified per
//     line and zoom (lines.go).
//   - units: the units a grid must cover whole (id, kind, name), polygons
//     or points, from UnitMinZoom up; for planners, which the API checks.
//   - hazards: one point per hazard (id, category, severity, status,
//     reported_at) from zoom ClusterBelow up; below it, one point per
//     cluster (count; open, the hazards not done nor rejected;
//     max_severity; category, the most common, of equally common ones the
//     least code). Categories are the codes of whatever taxonomy is in
//     use: the tiles carry them as they are and need no list of them.
//   - cameras: one point per camera (id, azimuth, fov, range_m, status) and,
//     from zoom SectorZoom up, its coverage sector as a polygon with the
//     same attributes; below ClusterBelow, clusters (count, online).
//   - hotspots: Getis-Ord Gi* hot and cold spots of all hazards over H3
//     cells. From zoom HotspotCellZoom up one polygon per significant cell
//     (cell, count, z, p, p_fdr, bin); below it the significant cells of
//     each bin dissolved into one feature (bin, cells, count).
//
// Household points are never in any layer: they are personal data.
//
// # Why clusters below zoom 14
//
// A hazard is one short point (about 20 bytes with its attributes), so a
// tile holds tens of thousands before it reaches 500 KB; but at zoom 13 a
// tile is 4.9 km wide at the equator, a pixel about 19 m, and a county's
// year of reports (60,000) already piles hundreds of points onto each
// other in a town centre, which a map cannot show and a browser must still
// decode. At zoom 14 a 512-pixel tile is 2.4 km wide and points of one
// street block separate. Clusters are square bins of 1/16 of a tile (16
// pixels on a 256-pixel tile) aligned to the global pixel grid, so a
// hazard falls in exactly one bin at each zoom, bins nest from zoom to
// zoom, and neighbouring tiles agree on every bin; a cluster sits at the
// mean position of its points.
//
// # Writes
//
// A hazard or camera write derives the next layer (Points.WithHazards,
// Points.WithCameras, or Scene.WithHazards and Scene.WithCameras, which
// also say where the tiles changed) from an immutable base sorted by
// mercator x and a small overlay of the changes, merged on read and
// compacted into a new base in the background every few thousand changes
// (points.go, points_overlay.go). Features are drawn in the order of
// mercator x, then FID, and clusters sum their points in that order
// (points_render.go), so a tile is a function of the set of records
// alone: replicas with the same records serve the same bytes and ETags
// whatever their history. Cache.Invalidate then drops the
// cached tiles that reach the changed places (the tile buffer, a cluster
// bin below ClusterBelow, a camera sector from SectorZoom), walking the
// tile pyramid over the change rather than the cache.
//
// # Simplification
//
// Polygon layers are cut into arcs shared between neighbours
// (topology.go) and each arc is simplified once per zoom with
// Douglas–Peucker at SimplifyTolerance tile units, so two grids that share
// an edge draw the same line at every zoom: no slivers, no gaps.
// Quantising to integer tile coordinates is the same function of the same
// points on both sides, and clipping happens only in the tile's buffer.
package tiles

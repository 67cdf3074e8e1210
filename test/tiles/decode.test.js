// Decodes wangge's vector tiles with @mapbox/vector-tile and pbf, as a map
// client would, and checks layers, fields and geometry against what the Go
// test read from the store (the JSON file named on the command line).
// Run by api/tiles_test.go (TestTilesClientDecoder) against the real server.
import {readFileSync} from 'node:fs';
import {VectorTile} from '@mapbox/vector-tile';
import {PbfReader} from 'pbf';

const exp = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const errors = [];
const fail = (msg) => { if (errors.length < 50) errors.push(msg); };

// Tile bounds in lon/lat, by the slippy-map formulas (not wangge's code).
function tileBounds(z, x, y) {
    const n = 2 ** z;
    const lon = (v) => v / n * 360 - 180;
    const lat = (v) => Math.atan(Math.sinh(Math.PI * (1 - 2 * v / n))) * 180 / Math.PI;
    return {w: lon(x), e: lon(x + 1), n: lat(y), s: lat(y + 1)};
}

function ringArea(ring) {
    let s = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) s += ring[j].x * ring[i].y - ring[i].x * ring[j].y;
    return s / 2;
}

function bboxOf(geom) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
        if (typeof c[0] === 'number') {
            b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
            b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
        } else c.forEach(walk);
    };
    walk(geom.coordinates);
    return b;
}

const tj = await (await fetch(`${exp.base}/tiles/${exp.layers}.json`)).json();
if (tj.tilejson !== '3.0.0') fail(`tilejson ${tj.tilejson}`);
const fields = Object.fromEntries(tj.vector_layers.map((l) => [l.id, l.fields]));
const requested = exp.layers.split(',');

let features = 0;
let tiles = 0;
const seen = {grids: new Set(), hazards: new Set(), cameras: new Set(), sectors: 0, hotspots: 0, clusters: 0, areas: 0};

for (const [z, x, y] of exp.tiles) {
    const url = `${exp.base}/tiles/${exp.layers}/${z}/${x}/${y}.mvt`;
    const res = await fetch(url, {headers: {'Accept-Encoding': 'gzip'}});
    if (res.status === 204) continue;
    if (res.status !== 200) { fail(`${url}: ${res.status}`); continue; }
    if (res.headers.get('content-type') !== 'application/vnd.mapbox-vector-tile') fail(`${url}: content-type ${res.headers.get('content-type')}`);
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length > 500 * 1024) fail(`${url}: ${buf.length} bytes, over 500 KB`);
    const tile = new VectorTile(new PbfReader(buf));
    tiles++;
    const bounds = tileBounds(z, x, y);
    // Half a tile unit in degrees, plus float slack: how far a decoded
    // position may be from the stored one.
    const tolLon = 360 / 2 ** z / 4096 * 0.51 + 1e-9;
    const tolLat = (bounds.n - bounds.s) / 4096 * 0.51 + 1e-9;
    for (const name of Object.keys(tile.layers)) {
        if (!requested.includes(name)) fail(`${url}: layer ${name} not requested`);
        const layer = tile.layers[name];
        if (layer.extent !== 4096 || layer.version !== 2) fail(`${url}: ${name} extent ${layer.extent} version ${layer.version}`);
        let inTile = 0; // hazards or cameras counted inside the tile proper
        for (let i = 0; i < layer.length; i++) {
            const f = layer.feature(i);
            features++;
            for (const k of Object.keys(f.properties)) {
                if (!(k in fields[name])) fail(`${url}: ${name} field ${k} not in TileJSON`);
            }
            const p = f.properties;
            const geom = f.loadGeometry();
            if (f.type === 3) {
                if (!(ringArea(geom[0]) > 0)) fail(`${url}: ${name} feature ${f.id}: first ring not clockwise on screen (area ${ringArea(geom[0])})`);
            }
            const gj = f.toGeoJSON(x, y, z);
            if (name === 'grids') {
                const g = exp.grids[p.code];
                if (!g) { fail(`${url}: grid ${p.code} not in the published plan`); continue; }
                seen.grids.add(p.code);
                if (p.households !== g.households || p.name !== g.name || p.parent_code !== g.parent_code) {
                    fail(`${url}: grid ${p.code} ${JSON.stringify(p)} ≠ store ${JSON.stringify(g)}`);
                }
                const dev = Math.round(1000 * (g.households - exp.target) / exp.target) / 10;
                if (Math.abs(p.deviation_pct - dev) > 0.051) fail(`${url}: grid ${p.code} deviation ${p.deviation_pct}, want ${dev}`);
                if (f.type !== 3) fail(`${url}: grid ${p.code} type ${f.type}`);
                // Simplification and quantising move edges by at most a few
                // tile units; clipping only shrinks.
                const b = bboxOf(gj.geometry);
                const slack = 8 * tolLon * 2;
                if (b[0] < g.bbox[0] - slack || b[2] > g.bbox[2] + slack || b[1] < g.bbox[1] - slack || b[3] > g.bbox[3] + slack) {
                    fail(`${url}: grid ${p.code} drawn over ${b}, stored within ${g.bbox}`);
                }
            } else if (name === 'hazards' || name === 'cameras') {
                const store = name === 'hazards' ? exp.hazards : exp.cameras;
                if ('count' in p) {
                    seen.clusters++;
                    if (z >= 14) fail(`${url}: cluster at z${z}`);
                    const [px, py] = [geom[0][0].x, geom[0][0].y];
                    if (px >= 0 && px < 4096 && py >= 0 && py < 4096) inTile += p.count;
                    continue;
                }
                if (z < 14) fail(`${url}: single ${name} at z${z}`);
                const s = store[p.id];
                if (!s) { fail(`${url}: ${name} ${p.id} not in the store`); continue; }
                for (const k of Object.keys(s)) {
                    if (k !== 'lon' && k !== 'lat' && p[k] !== s[k]) fail(`${url}: ${name} ${p.id}.${k} = ${p[k]}, store ${s[k]}`);
                }
                if (f.type === 3) { seen.sectors++; if (z < 15) fail(`${url}: sector at z${z}`); continue; }
                const [lon, lat] = gj.geometry.coordinates;
                if (Math.abs(lon - s.lon) > tolLon || Math.abs(lat - s.lat) > tolLat) fail(`${url}: ${name} ${p.id} at ${lon},${lat}, store ${s.lon},${s.lat}`);
                if (s.lon >= bounds.w && s.lon < bounds.e && s.lat > bounds.s && s.lat <= bounds.n) inTile++;
                seen[name].add(p.id);
            } else if (name === 'hotspots') {
                seen.hotspots++;
                if (!Number.isInteger(p.bin) || p.bin === 0 || Math.abs(p.bin) > 3) fail(`${url}: hotspot bin ${p.bin}`);
                if (z >= 12 && !(typeof p.cell === 'string' && p.p_fdr >= p.p && (p.bin > 0) === (p.z > 0))) fail(`${url}: hotspot cell ${JSON.stringify(p)}`);
            } else if (name === 'areas') {
                seen.areas++;
                if (typeof p.code !== 'string' || !Number.isInteger(p.level)) fail(`${url}: area ${JSON.stringify(p)}`);
            }
        }
        if (name === 'hazards' || name === 'cameras') {
            // Everything stored inside the tile is drawn, once.
            let want = 0;
            for (const s of Object.values(name === 'hazards' ? exp.hazards : exp.cameras)) {
                if (s.lon >= bounds.w && s.lon < bounds.e && s.lat > bounds.s && s.lat <= bounds.n) want++;
            }
            if (inTile !== want) fail(`${url}: ${name} inside the tile: ${inTile} drawn, ${want} stored`);
        }
    }
}

for (const [what, n] of [['grids', seen.grids.size], ['hazards', seen.hazards.size], ['clusters', seen.clusters], ['hotspots', seen.hotspots], ['areas', seen.areas]]) {
    if (n === 0) fail(`no ${what} seen in any tile`);
}
if (Object.keys(exp.cameras).length > 0 && seen.sectors === 0) fail('no camera sector seen');

if (errors.length) {
    console.error(errors.join('\n'));
    process.exit(1);
}
console.log(`ok ${tiles} tiles, ${features} features: ${seen.grids.size} grids, ${seen.hazards.size} hazards, ${seen.cameras.size} cameras, ${seen.sectors} sectors, ${seen.clusters} clusters, ${seen.hotspots} hotspot features, ${seen.areas} areas`);

// Reads tiles from a PMTiles archive written by `wangge export --format
// pmtiles` with the protomaps reader (the npm package pmtiles, what the
// MapLibre pmtiles:// protocol uses), and compares each with the tile the
// running server answers for the same z/x/y: the same bytes, and decoded
// with @mapbox/vector-tile the same layers, features, properties and
// geometry. Run by cmd/wangge/export_tiles_test.go (TestExportTilesClients):
//
//   ARCHIVE=out.pmtiles TILES_URL=http://host/tiles/areas,grids TILES='[[12,2143,1434],…]' node --test archive.test.js
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {PMTiles} from 'pmtiles';
import {NodeFileSource} from './filesource.mjs';
import {VectorTile} from '@mapbox/vector-tile';
import {PbfReader} from 'pbf';

const {ARCHIVE, TILES_URL, TILES} = process.env;

function decode(bytes) {
    const vt = new VectorTile(new PbfReader(new Uint8Array(bytes)));
    const out = {};
    for (const [name, layer] of Object.entries(vt.layers)) {
        const feats = [];
        for (let i = 0; i < layer.length; i++) {
            const f = layer.feature(i);
            feats.push({id: f.id, type: f.type, properties: f.properties,
                geometry: f.loadGeometry().map((ring) => ring.map((p) => [p.x, p.y]))});
        }
        out[name] = {extent: layer.extent, features: feats};
    }
    return out;
}

test('archive tiles equal the server tiles', {skip: !ARCHIVE && 'ARCHIVE not set'}, async () => {
    const tiles = JSON.parse(TILES);
    assert.ok(tiles.length > 0, 'no tiles to compare');
    const archive = new PMTiles(new NodeFileSource(ARCHIVE));
    const header = await archive.getHeader();
    assert.equal(header.tileType, 1, 'tile type MVT');
    assert.equal(header.tileCompression, 2, 'tiles gzip-compressed');
    const meta = await archive.getMetadata();
    const layers = new URL(TILES_URL).pathname.split('/').pop().split(',');
    assert.deepEqual(meta.vector_layers.map((l) => l.id), layers, 'metadata vector_layers');
    let compared = 0, empty = 0, features = 0;
    for (const [z, x, y] of tiles) {
        const res = await fetch(`${TILES_URL}/${z}/${x}/${y}.mvt`);
        const got = await archive.getZxy(z, x, y);
        if (res.status === 204) {
            assert.equal(got, undefined, `${z}/${x}/${y}: the server has no feature there, the archive has a tile`);
            empty++;
            continue;
        }
        assert.equal(res.status, 200, `${z}/${x}/${y}: server status`);
        const want = new Uint8Array(await res.arrayBuffer());
        assert.ok(got, `${z}/${x}/${y}: missing from the archive`);
        const have = new Uint8Array(got.data);
        const dw = decode(want), dh = decode(have);
        assert.deepEqual(Object.keys(dh), Object.keys(dw), `${z}/${x}/${y}: layers`);
        assert.deepEqual(dh, dw, `${z}/${x}/${y}: decoded features`);
        assert.ok(Buffer.from(have).equals(Buffer.from(want)), `${z}/${x}/${y}: bytes differ`);
        for (const l of Object.values(dw)) features += l.features.length;
        compared++;
    }
    assert.ok(compared > 0, 'no tile with features compared');
    console.log(`ok ${compared} tiles (${features} features) equal, ${empty} empty in both`);
});

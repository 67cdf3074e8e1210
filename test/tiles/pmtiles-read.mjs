// Reads tiles out of a PMTiles archive with the protomaps reader (the npm
// package pmtiles) and prints each as text, for tiles/archive's tests
// (TestPMTilesReader), which write archives whose tiles are gzipped text:
//
//   node pmtiles-read.mjs ARCHIVE '[[z,x,y],…]'   → {"z/x/y": "text" or null, …, "header": {…}}
import {PMTiles} from 'pmtiles';
import {NodeFileSource} from './filesource.mjs';

const [path, list] = process.argv.slice(2);
const pm = new PMTiles(new NodeFileSource(path));
const out = {header: await pm.getHeader(), metadata: await pm.getMetadata()};
for (const [z, x, y] of JSON.parse(list)) {
    const t = await pm.getZxy(z, x, y);
    out[`${z}/${x}/${y}`] = t ? Buffer.from(t.data).toString('utf8') : null;
}
process.stdout.write(JSON.stringify(out));

// Reads tiles out of a PMTiles archive with the protomaps reader (the npm
// package pmtiles) and prints each as text, for tiles/archive's tests
// (TestPMTilesReader), which write archives whose tiles are gzipped text:
//
//   node pmtiles-read.mjs ARCHIVE '[[z,x,y],…]'   → {"z/x/y": "text" or null, …, "header": {…}}
import {open} from 'node:fs/promises';
import {PMTiles} from 'pmtiles';

class NodeFileSource {
    constructor(path) { this.path = path; this.fh = open(path, 'r'); }
    getKey() { return this.path; }
    async getBytes(offset, length) {
        const fh = await this.fh;
        const buf = Buffer.alloc(length);
        const {bytesRead} = await fh.read(buf, 0, length, offset);
        return {data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytesRead)};
    }
}

const [path, list] = process.argv.slice(2);
const pm = new PMTiles(new NodeFileSource(path));
const out = {header: await pm.getHeader(), metadata: await pm.getMetadata()};
for (const [z, x, y] of JSON.parse(list)) {
    const t = await pm.getZxy(z, x, y);
    out[`${z}/${x}/${y}`] = t ? Buffer.from(t.data).toString('utf8') : null;
}
process.stdout.write(JSON.stringify(out));

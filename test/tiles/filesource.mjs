// A pmtiles Source over a local file, for Node (the package's FileSource
// wants a browser File): what archive.test.js and pmtiles-read.mjs read
// archives through.
import {open} from 'node:fs/promises';

export class NodeFileSource {
    constructor(path) { this.path = path; this.fh = open(path, 'r'); }
    getKey() { return this.path; }
    async getBytes(offset, length) {
        const fh = await this.fh;
        const buf = Buffer.alloc(length);
        const {bytesRead} = await fh.read(buf, 0, length, offset);
        return {data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytesRead)};
    }
}

/**
 * One chunk object: a 48-byte header, then the range's inputs, then its
 * labels (float32). The header: the magic `SKDS`, the format version, the
 * range's start and end (uint32, little-endian), and the SHA-256 of the
 * dataset's hash followed by everything after the header, so that a reader
 * can tell a chunk that is torn, damaged, of another range or of another
 * dataset from a good one.
 */
import { createHash } from 'node:crypto';

import { bytesOf, type DatasetArrays, type SampleRange, sizeOf } from './layout';

const MAGIC = [0x53, 0x4b, 0x44, 0x53];
const VERSION = 1;
/** Magic, version, start, end (4 bytes each), then the digest. */
export const CHUNK_HEADER_BYTES = 16 + 32;
const FLOAT_BYTES = 4;

/** The chunk object of samples `range` of `data`, whose hash is `hash`. */
export function encodeChunk(data: DatasetArrays, hash: string, range: SampleRange): Uint8Array {
  const xSize = sizeOf(data.xShape) * FLOAT_BYTES;
  const ySize = sizeOf(data.yShape) * FLOAT_BYTES;
  const count = range.end - range.start;
  const xs = bytesOf(data.xs).subarray(range.start * xSize, range.end * xSize);
  const ys = bytesOf(data.ys).subarray(range.start * ySize, range.end * ySize);
  const body = new Uint8Array(CHUNK_HEADER_BYTES + count * (xSize + ySize));
  body.set(xs, CHUNK_HEADER_BYTES);
  body.set(ys, CHUNK_HEADER_BYTES + xs.byteLength);
  const header = new DataView(body.buffer, 0, CHUNK_HEADER_BYTES);
  MAGIC.forEach((byte, i) => header.setUint8(i, byte));
  header.setUint32(4, VERSION, true);
  header.setUint32(8, range.start, true);
  header.setUint32(12, range.end, true);
  body.set(digest(hash, body.subarray(CHUNK_HEADER_BYTES)), 16);
  return body;
}

/**
 * The payload (inputs then labels) of a chunk object read back, or what is
 * wrong with it: it must be the chunk of `range` of the dataset `hash`,
 * with `payloadBytes` after its header, and match its digest.
 */
export function decodeChunk(
  body: Uint8Array,
  hash: string,
  range: SampleRange,
  payloadBytes: number,
): { payload: Uint8Array } | { problem: string } {
  if (body.byteLength !== CHUNK_HEADER_BYTES + payloadBytes) {
    return {
      problem: `has ${body.byteLength} bytes, not the ${CHUNK_HEADER_BYTES + payloadBytes} published`,
    };
  }
  const header = new DataView(body.buffer, body.byteOffset, CHUNK_HEADER_BYTES);
  if (MAGIC.some((byte, i) => header.getUint8(i) !== byte) || header.getUint32(4, true) !== VERSION) {
    return { problem: 'is not a dataset chunk of this format' };
  }
  const start = header.getUint32(8, true);
  const end = header.getUint32(12, true);
  if (start !== range.start || end !== range.end) {
    return { problem: `holds samples [${start}, ${end}), not [${range.start}, ${range.end})` };
  }
  const payload = body.subarray(CHUNK_HEADER_BYTES);
  const stored = body.subarray(16, CHUNK_HEADER_BYTES);
  if (!digest(hash, payload).equals(stored)) {
    return { problem: 'does not match its checksum (damaged, or written for another dataset)' };
  }
  return { payload };
}

function digest(hash: string, payload: Uint8Array): Buffer {
  return createHash('sha256').update(hash).update(payload).digest();
}

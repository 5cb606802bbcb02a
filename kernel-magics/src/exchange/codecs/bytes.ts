/**
 * Byte-level helpers the codecs share: encoded vectors are little-endian on
 * every platform, and a typed-array view of a byte buffer is only possible
 * when the buffer is suitably aligned and the platform is little-endian.
 */
import { endianness } from 'node:os';

/** Whether this platform stores numbers little-endian (so a typed-array view of wire bytes reads right). */
export const LITTLE_ENDIAN = endianness() === 'LE';

/** The bytes of `v` as a view (no copy) on little-endian platforms, else a little-endian copy. */
export function float32Bytes(v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) {
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i += 1) {
    view.setFloat32(i * 4, v[i], true);
  }
  return out;
}

/**
 * `count` little-endian float32 values starting at `bytes[offset]`: a view
 * when the data is aligned on a little-endian platform (no copy), else a copy.
 */
export function readFloat32s(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const start = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && start % 4 === 0) {
    return new Float32Array(bytes.buffer, start, count);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, start, count * 4);
  for (let i = 0; i < count; i += 1) {
    out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** `count` little-endian uint16 values starting at `bytes[offset]` (a view when aligned, else a copy). */
export function readUint16s(bytes: Uint8Array, offset: number, count: number): Uint16Array {
  const start = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && start % 2 === 0) {
    return new Uint16Array(bytes.buffer, start, count);
  }
  const out = new Uint16Array(count);
  const view = new DataView(bytes.buffer, start, count * 2);
  for (let i = 0; i < count; i += 1) {
    out[i] = view.getUint16(i * 2, true);
  }
  return out;
}

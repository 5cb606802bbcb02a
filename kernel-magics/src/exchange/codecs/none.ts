/**
 * The `none` codec: the vector's own float32 bytes, little-endian. Encoding
 * is a view of the vector and decoding a view of the bytes whenever the
 * platform and alignment allow, so nothing is copied.
 */
import { float32Bytes, readFloat32s } from './bytes';
import { Codec, CodecError } from './codec';

/** Raw little-endian float32. */
export class NoneCodec implements Codec {
  readonly name = 'none';
  readonly errorFeedback = false;

  encode(v: Float32Array): Uint8Array {
    return float32Bytes(v);
  }

  encodedLength(floats: number): number {
    return floats * 4;
  }

  floats(bytes: Uint8Array): number {
    if (bytes.byteLength % 4 !== 0) {
      throw new CodecError(`none: ${bytes.byteLength} bytes are not a whole number of float32 values`);
    }
    return bytes.byteLength / 4;
  }

  decode(bytes: Uint8Array): Float32Array {
    return readFloat32s(bytes, 0, this.floats(bytes));
  }

  addInto(bytes: Uint8Array, target: Float32Array): void {
    const values = this.decode(bytes);
    checkLength('none', values.length, target.length);
    for (let i = 0; i < values.length; i += 1) {
      target[i] += values[i];
    }
  }
}

/** Throws a CodecError when a payload's length is not the target's. */
export function checkLength(codec: string, got: number, expected: number): void {
  if (got !== expected) {
    throw new CodecError(`${codec}: the bytes hold ${got} floats where ${expected} were expected`);
  }
}

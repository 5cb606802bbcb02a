/**
 * How the exchange turns a Float32Array into the bytes it stores, and back.
 * A codec is chosen by name (`none`, `fp16`, `topk:0.01`, see
 * {@link parseCodec}); every worker of an exchange must use the same one.
 */

/** A wire format for float32 vectors. Implementations are stateless: the exchange keeps any residual. */
export interface Codec {
  /** The codec as written: `none`, `fp16`, `topk:0.01`. */
  readonly name: string;
  /**
   * True when encoding drops part of the vector on purpose (top-k): the
   * exchange then keeps what was not sent as a residual and adds it to the
   * next round's vector ({@link Codec.encodeWithFeedback}).
   */
  readonly errorFeedback: boolean;
  /** The bytes for `v` (little-endian). May be a view of `v`'s memory: do not change `v` while they are in use. */
  encode(v: Float32Array): Uint8Array;
  /**
   * With error feedback: encodes `v + residualIn` and writes to `residualOut`
   * what the bytes leave out, so that decode(bytes) + residualOut equals
   * v + residualIn exactly (each sum rounded to float32 once). `residualOut`
   * may be `residualIn`. Present exactly when {@link Codec.errorFeedback}.
   */
  encodeWithFeedback?(v: Float32Array, residualIn: Float32Array, residualOut: Float32Array): Uint8Array;
  /**
   * How many bytes {@link Codec.encode} makes of a vector of `floats` floats,
   * on codecs where that depends on nothing else (`none`, `fp16`; absent on
   * `topk`, whose indices take varying bytes). The exchange then knows where
   * each piece of a worker's packed contribution starts, and reads only its
   * own by range.
   */
  encodedLength?(floats: number): number;
  /** How many floats `bytes` holds (cheap: reads a header or the size). Throws a {@link CodecError} for bytes this codec did not make. */
  floats(bytes: Uint8Array): number;
  /** The vector `bytes` holds. May be a view of `bytes` (no copy) when alignment allows. */
  decode(bytes: Uint8Array): Float32Array;
  /**
   * Adds the vector `bytes` holds into `target`, element by element in
   * float32 (`target[i] += x[i]`, one rounding per addition), visiting only
   * the entries the bytes carry (a sparse codec skips the zeros, which would
   * add nothing).
   */
  addInto(bytes: Uint8Array, target: Float32Array): void;
}

/** Bytes a codec cannot read (truncated, another codec's, a different length than expected). */
export class CodecError extends Error {
  override name = 'CodecError';
}

/** A codec name that cannot be used; the message lists the accepted forms. */
export class CodecConfigError extends TypeError {
  override name = 'CodecConfigError';
}

/**
 * Codecs for exchanged vectors, by name: `none` (raw float32), `fp16` (IEEE
 * half, round to nearest even) and `topk:F` (the largest-magnitude fraction
 * F of the entries, with error feedback).
 */
import { Codec, CodecConfigError } from './codec';
import { Fp16Codec } from './fp16';
import { NoneCodec } from './none';
import { TopKCodec } from './topk';

export { Codec, CodecConfigError, CodecError } from './codec';
export { Fp16Codec } from './fp16';
export { NoneCodec } from './none';
export { keptCount, TopKCodec } from './topk';

/** The codec names {@link parseCodec} accepts, for messages. */
export const CODEC_FORMS = "'none', 'fp16' or 'topk:<fraction>' (e.g. 'topk:0.01')";

/**
 * The codec a name means: `none`, `fp16`, or `topk:F` with F a number in
 * (0, 1] (the share of entries sent each round). A {@link Codec} is returned
 * as is. Throws a {@link CodecConfigError} naming the accepted forms.
 */
export function parseCodec(spec: string | Codec): Codec {
  if (typeof spec === 'object' && spec !== null) {
    return spec;
  }
  if (typeof spec !== 'string') {
    throw new CodecConfigError(`codec must be a string, one of ${CODEC_FORMS}; got ${typeof spec}`);
  }
  const text = spec.trim().toLowerCase();
  if (text === 'none') {
    return new NoneCodec();
  }
  if (text === 'fp16') {
    return new Fp16Codec();
  }
  if (text === 'topk' || text.startsWith('topk:')) {
    const rest = text.slice('topk:'.length);
    if (text === 'topk' || rest === '') {
      throw new CodecConfigError(
        `codec 'topk' needs the fraction of entries to send each round, e.g. 'topk:0.01' (1%)`,
      );
    }
    const fraction = /^[0-9.eE+-]+$/.test(rest) ? Number(rest) : NaN;
    if (!(fraction > 0 && fraction <= 1)) {
      throw new CodecConfigError(
        `codec '${spec}': the top-k fraction must be a number in (0, 1], e.g. 'topk:0.01' (1%); got '${rest}'`,
      );
    }
    return new TopKCodec(fraction);
  }
  throw new CodecConfigError(`unknown codec '${spec}': use ${CODEC_FORMS}`);
}

/**
 * The geometry of the forward Conv2D whose gradient a kernel computes: both
 * Conv2D gradients (filter and input) are given the forward call's
 * attributes and the shapes of its input and filter, one of them as an
 * attribute and the other as a tensor.
 */
import type { Conv2DBackpropInputAttrs } from '@tensorflow/tfjs';

import type { Tf } from '../tf-types';

/** tfjs's description of a Conv2D: sizes, strides, padding, data format. */
export type Conv2DGeometry = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

/** The forward call's attributes that both Conv2D gradients are given. */
export type ForwardConv2DAttrs = Pick<
  Conv2DBackpropInputAttrs,
  'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'
>;

/**
 * The geometry of the Conv2D of an input shaped `inputShape` with a filter
 * shaped `filterShape` (no dilation: tfjs's Conv2D gradient kernels take none).
 */
export function forwardConv2DGeometry(
  tf: Tf,
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ForwardConv2DAttrs,
): Conv2DGeometry {
  const { backend_util } = tf;
  return backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

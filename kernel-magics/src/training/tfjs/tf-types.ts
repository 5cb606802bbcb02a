/**
 * The tfjs module type, for type positions only: nothing here loads tfjs
 * (a plain invocation must not pay for it; the module itself is the one
 * {@link loadTrainingTf} resolves at run time).
 */
export type Tf = typeof import('@tensorflow/tfjs');

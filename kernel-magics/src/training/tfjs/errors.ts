/** Typed errors of the training backend set-up. */

/**
 * TensorFlow.js could not be loaded or set up for training. The message says
 * what to install or change.
 */
export class TrainingBackendError extends Error {
  override name = 'TrainingBackendError';
}

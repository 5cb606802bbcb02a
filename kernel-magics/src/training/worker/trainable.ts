/**
 * A worker's model during training: gradients of a local batch as one
 * Float32Array (the vector the exchange averages), the averaged gradient
 * applied by the model's own optimizer, and evaluation. Every worker applies
 * the same averaged vectors to the same weights with the same optimizer
 * state, so every worker holds the same model after every step.
 */
import type * as Tf from '@tensorflow/tfjs';

import { TrainingConfigError } from '../errors';

type TfModule = typeof Tf;

/** How accuracy is counted, from the model's loss (absent: the model has no accuracy metric). */
export type AccuracyKind = 'categorical' | 'sparse' | 'binary';

/** A local batch's loss and correct predictions. */
export interface BatchMetrics {
  /** Mean loss over the batch. */
  loss: number;
  /** Correct predictions (0 without an accuracy metric). */
  correct: number;
}

/** The compiled model's inner LayersModel (a Sequential keeps its compiled state there). */
interface CompiledParts {
  lossFunctions?: Array<(yTrue: Tf.Tensor, yPred: Tf.Tensor) => Tf.Tensor>;
  model?: CompiledParts;
}

/** One worker's model, ready to step. */
export class TrainableModel {
  private readonly variables: Tf.Variable[];
  private readonly sizes: number[];
  /** Floats in the gradient vector. */
  readonly parameters: number;
  private readonly lossFn: (yTrue: Tf.Tensor, yPred: Tf.Tensor) => Tf.Tensor;

  constructor(
    private readonly tf: TfModule,
    readonly model: Tf.LayersModel,
    private readonly accuracy: AccuracyKind | undefined,
  ) {
    if (!model.optimizer) {
      throw new TrainingConfigError('train(): the model has no optimizer; compile it with one first.');
    }
    this.variables = model.trainableWeights.map((weight) => weight.read() as Tf.Variable);
    this.sizes = this.variables.map((variable) => variable.size);
    this.parameters = this.sizes.reduce((sum, size) => sum + size, 0);
    this.lossFn = lossFunctionOf(model);
  }

  /**
   * The gradient of the batch's mean loss, times `scale`, as one vector
   * (variables in the model's order), and the batch's metrics.
   */
  gradient(xs: Tf.Tensor, ys: Tf.Tensor, scale: number): { vector: Float32Array; metrics: BatchMetrics } {
    const { tf } = this;
    let correct: Tf.Tensor | undefined;
    const { value, grads } = this.model.optimizer.computeGradients(() => {
      const predictions = this.model.apply(xs, { training: true }) as Tf.Tensor;
      if (this.accuracy) {
        correct = tf.keep(countCorrect(tf, this.accuracy, ys, predictions));
      }
      return tf.mean(this.lossFn(ys, predictions)) as Tf.Scalar;
    }, this.variables);
    const parts = this.variables.map((variable) => grads[variable.name]);
    // One read back of the device for the whole step: gradients, loss and the correct count.
    const flat = tf.tidy(() =>
      tf.concat([
        ...parts.map((g) => g.reshape([-1])),
        value.reshape([1]),
        (correct ?? tf.zeros([1])).reshape([1]),
      ]),
    );
    const all = flat.dataSync() as Float32Array;
    tf.dispose([flat, value, correct as Tf.Tensor, ...parts]);
    const vector = all.subarray(0, this.parameters);
    if (scale !== 1) {
      for (let i = 0; i < vector.length; i += 1) {
        vector[i] *= scale;
      }
    }
    return { vector, metrics: { loss: all[this.parameters], correct: all[this.parameters + 1] } };
  }

  /** Applies an averaged gradient vector with the model's optimizer. */
  apply(mean: Float32Array): void {
    if (mean.length !== this.parameters) {
      throw new Error(`an averaged gradient of ${mean.length} floats for a model of ${this.parameters}`);
    }
    const { tf } = this;
    const named: Record<string, Tf.Tensor> = {};
    let offset = 0;
    this.variables.forEach((variable, i) => {
      named[variable.name] = tf.tensor(
        mean.subarray(offset, offset + this.sizes[i]),
        variable.shape,
        'float32',
      );
      offset += this.sizes[i];
    });
    this.model.optimizer.applyGradients(named);
    tf.dispose(Object.values(named));
  }

  /** Sum of the loss and the correct count over a batch, without training. */
  evaluate(xs: Tf.Tensor, ys: Tf.Tensor): { lossSum: number; correct: number } {
    const { tf } = this;
    const sums = tf.tidy(() => {
      const predictions = this.model.apply(xs, { training: false }) as Tf.Tensor;
      const lossSum = tf.sum(this.lossFn(ys, predictions));
      const correct = this.accuracy ? countCorrect(tf, this.accuracy, ys, predictions) : tf.scalar(0);
      return tf.stack([lossSum, correct]);
    });
    const [lossSum, correct] = sums.dataSync();
    sums.dispose();
    return { lossSum, correct };
  }

  /** Frees the model's variables and its optimizer's state. */
  dispose(): void {
    this.model.optimizer.dispose();
    this.model.dispose();
  }
}

/** The compiled loss of a one-output model. */
function lossFunctionOf(model: Tf.LayersModel): (yTrue: Tf.Tensor, yPred: Tf.Tensor) => Tf.Tensor {
  const parts = model as unknown as CompiledParts;
  const functions = parts.lossFunctions ?? parts.model?.lossFunctions;
  if (!functions || functions.length !== 1) {
    throw new TrainingConfigError(
      'train(): the model must be compiled with one loss for its one output (model.compile({ optimizer, loss })).',
    );
  }
  return functions[0];
}

/** Correct predictions in a batch, as a scalar. */
function countCorrect(tf: TfModule, kind: AccuracyKind, ys: Tf.Tensor, predictions: Tf.Tensor): Tf.Tensor {
  return tf.tidy(() => {
    if (kind === 'binary') {
      return tf.sum(tf.cast(tf.equal(tf.greater(predictions, 0.5), tf.greater(ys, 0.5)), 'float32'));
    }
    const truth = kind === 'sparse' ? tf.cast(tf.reshape(ys, [-1]), 'int32') : tf.argMax(ys, -1);
    return tf.sum(tf.cast(tf.equal(tf.argMax(predictions, -1), truth), 'float32'));
  });
}

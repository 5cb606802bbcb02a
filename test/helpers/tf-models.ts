/** Small real tfjs models for the model store's tests. */
import * as tf from '@tensorflow/tfjs';

// The pure-JS cpu backend warns once that tfjs-node would be faster; prod mode is tfjs's switch for its warnings.
tf.enableProdMode();

export { tf };

/** A 4-8-3 dense model, compiled, fitted a few steps on random data so its weights are not the initial ones. */
export async function trainedModel(seed = 1): Promise<tf.Sequential> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units: 8,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  const xs = tf.randomNormal([32, 4], 0, 1, 'float32', seed);
  const labels = tf.randomUniform([32], 0, 3, 'int32', seed);
  const ys = tf.oneHot(labels, 3);
  await model.fit(xs, ys, { epochs: 3, batchSize: 8, verbose: 0 });
  tf.dispose([xs, labels, ys]);
  return model;
}

/** A fixed input batch. */
export function probe(): tf.Tensor2D {
  return tf.tensor2d([
    [0.1, -0.2, 0.3, 0.9],
    [1.5, 0.25, -1.0, 0.0],
    [-0.7, 0.6, 0.05, -2.0],
  ]);
}

/** The model's outputs on {@link probe}, as raw float32 bytes (compared bit for bit). */
export function predictionBytes(model: tf.LayersModel): Buffer {
  const x = probe();
  const y = model.predict(x) as tf.Tensor;
  const bytes = Buffer.from(new Float32Array(y.dataSync()).buffer);
  tf.dispose([x, y]);
  return bytes;
}

/** Every weight of the model, concatenated as raw float32 bytes, in the model's order. */
export function weightBytes(model: tf.LayersModel): Buffer {
  return Buffer.concat(model.getWeights().map((w) => Buffer.from(new Float32Array(w.dataSync()).buffer)));
}

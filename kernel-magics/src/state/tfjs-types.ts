/**
 * Structural types for the parts of tfjs the model store touches, so the
 * package has no compile-time or load-time dependency on tfjs (a real
 * `tf.LayersModel` and the `@tensorflow/tfjs` module fit them).
 */

/** One weight's place in the binary weights, as tfjs describes it. */
export interface WeightSpecLike {
  name: string;
  shape: number[];
  dtype: string;
  group?: string;
  quantization?: unknown;
}

/**
 * The artifacts of a model, as tfjs passes them to and takes them from an
 * IOHandler. The JSON parts this store only copies are `unknown`, so that
 * tfjs's own (stricter) types fit.
 */
export interface ModelArtifactsLike {
  modelTopology?: unknown;
  trainingConfig?: unknown;
  weightSpecs?: WeightSpecLike[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: unknown;
  signature?: unknown;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
}

/** What an IOHandler's save returns to tfjs. */
export interface SaveResultLike {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes?: number;
    weightSpecsBytes?: number;
    weightDataBytes?: number;
  };
}

/** An IOHandler that saves. */
export interface SaveHandlerLike {
  save(artifacts: ModelArtifactsLike): Promise<SaveResultLike>;
}

/** An IOHandler that loads (`load` is optional as in tfjs's `IOHandler`; this store's always has it). */
export interface LoadHandlerLike {
  load?: () => Promise<ModelArtifactsLike>;
}

/** What `save` takes: a tfjs model (a `tf.LayersModel`; a `tf.GraphModel` works too). */
export interface SavableModel {
  save(handler: SaveHandlerLike, config?: { includeOptimizer?: boolean }): Promise<unknown>;
}

/**
 * The part of the `@tensorflow/tfjs` module `load` uses. Passing your own
 * `tf` as `{ tf }` also types the loaded model (`tf.LayersModel`).
 */
export interface TfLike<M> {
  /** tfjs's loaders also take a URL (the `string`); this store passes a handler. */
  loadLayersModel(handler: string | LoadHandlerLike): Promise<M>;
  loadGraphModel?(handler: string | LoadHandlerLike): Promise<unknown>;
}

/** A tensor, as far as {@link LayersModelLike} needs one. */
export interface TensorLike {
  readonly shape: number[];
  readonly dtype: string;
  readonly size: number;
  dispose(): void;
}

/**
 * A loaded model when no `tf` types the result: the members of
 * `tf.LayersModel` used most. Pass `{ tf }` or write
 * `models.load<tf.LayersModel>(name)` for the full type.
 */
export interface LayersModelLike extends SavableModel {
  readonly name: string;
  getWeights(trainableOnly?: boolean): TensorLike[];
  setWeights(weights: TensorLike[]): void;
  predict(x: TensorLike | TensorLike[], args?: object): TensorLike | TensorLike[];
  summary(): void;
  dispose(): unknown;
}

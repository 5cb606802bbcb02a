/**
 * A model's artifacts: captured from the model through an in-memory
 * IOHandler, and stored as `model.json` (topology + weight specs, in tfjs's
 * `ModelJSON` shape, plus the version's claim) with the weights as one
 * binary object beside it.
 */
import { ModelFormatError } from './errors';
import { PART } from './layout';
import type {
  ModelArtifactsLike,
  SavableModel,
  SaveHandlerLike,
  SaveResultLike,
  WeightSpecLike,
} from './tfjs-types';

/** The format tfjs gives graph models (loaded with `tf.loadGraphModel`, not `loadLayersModel`). */
export const GRAPH_MODEL_FORMAT = 'graph-model';

/** Who claimed a version: written into its `model.json`, which is the claim. */
export interface Claim {
  /** Unique per save: tells two saves that got the same number (after a delete) apart. */
  saveId: string;
  /** When the save claimed the number (ISO 8601), to judge whether an unfinished version is abandoned. */
  claimedAt: string;
}

/** The stored `model.json`: tfjs's `ModelJSON` with the claim. */
export interface StoredModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: WeightSpecLike[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
  userDefinedMetadata?: unknown;
  signature?: unknown;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
  claim: Claim;
}

/** A model's artifacts encoded for the store. */
export interface EncodedModel {
  /** `model.json` as UTF-8. */
  topology: Uint8Array;
  /** Every weight, in the order of the weight specs. */
  weights: Uint8Array;
}

/** Runs `model.save` into memory and returns the artifacts tfjs produced. */
export async function captureArtifacts(
  model: SavableModel,
  config: { includeOptimizer?: boolean },
): Promise<ModelArtifactsLike> {
  if (model === null || typeof model !== 'object' || typeof model.save !== 'function') {
    throw new TypeError('models.save(name, model): model must be a tfjs model (a tf.LayersModel)');
  }
  let captured: ModelArtifactsLike | undefined;
  const handler: SaveHandlerLike = {
    save: async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: artifactsInfo(artifacts) };
    },
  };
  await model.save(handler, config);
  if (!captured) {
    throw new ModelFormatError('the model did not hand its artifacts to the save handler');
  }
  return captured;
}

/** Encodes artifacts as the stored `model.json` and one weights object. */
export function encodeModel(artifacts: ModelArtifactsLike, claim: Claim): EncodedModel {
  const { modelTopology, weightSpecs, weightData, ...rest } = artifacts;
  if (typeof modelTopology !== 'object' || modelTopology === null || modelTopology instanceof ArrayBuffer) {
    throw new ModelFormatError(
      'only models with a JSON topology can be saved (a tf.LayersModel or tf.GraphModel)',
    );
  }
  const json: StoredModelJson = {
    ...pickDefined(rest),
    modelTopology,
    weightsManifest: [{ paths: [PART.weights], weights: weightSpecs ?? [] }],
    claim,
  };
  return {
    topology: new TextEncoder().encode(JSON.stringify(json)),
    weights: concatenate(weightData),
  };
}

/** Decodes a stored `model.json`; throws {@link ModelFormatError} when it is not one. */
export function decodeModelJson(bytes: Uint8Array, where: string): StoredModelJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ModelFormatError(`${where} is not JSON; save the model again`, { cause: error });
  }
  const candidate = json as Partial<StoredModelJson> | null;
  if (
    !candidate ||
    typeof candidate.modelTopology !== 'object' ||
    candidate.modelTopology === null ||
    !Array.isArray(candidate.weightsManifest) ||
    typeof candidate.claim?.saveId !== 'string'
  ) {
    throw new ModelFormatError(`${where} is not a model.json this store wrote; save the model again`);
  }
  return candidate as StoredModelJson;
}

/** The artifacts tfjs loads a model from: the stored JSON and a weights buffer it may keep. */
export function artifactsOf(json: StoredModelJson, weights: ArrayBuffer): ModelArtifactsLike {
  const { weightsManifest, ...rest } = json;
  // tfjs ignores fields it does not know, such as the claim.
  return {
    ...rest,
    weightSpecs: weightsManifest.flatMap((group) => group.weights),
    weightData: weights,
  };
}

/** The sizes tfjs reports for saved artifacts. */
function artifactsInfo(artifacts: ModelArtifactsLike): SaveResultLike['modelArtifactsInfo'] {
  const data = artifacts.weightData;
  const weightDataBytes = Array.isArray(data)
    ? data.reduce((sum, part) => sum + part.byteLength, 0)
    : (data?.byteLength ?? 0);
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? null).length,
    weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
    weightDataBytes,
  };
}

function concatenate(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) {
    return new Uint8Array(0);
  }
  if (!Array.isArray(data)) {
    return new Uint8Array(data);
  }
  const out = new Uint8Array(data.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of data) {
    out.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  return out;
}

function pickDefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `models`: versioned tfjs models in an object store, the same calls in the
 * kernel and inside `%%serverless` bodies. A save writes `model.json` (the
 * version's claim), `weights.bin` (binary, never JSON) and the manifest
 * last, then points `latest.json` at the newest version (layout.ts,
 * versions.ts). A load reads one small object to learn the version, then
 * the artifacts, or inside an execution environment takes them from the
 * warm cache (cache.ts).
 */
import { randomUUID } from 'node:crypto';

import { StoreError } from '../exchange/store/errors';
import type { ObjectStore } from '../exchange/store/object-store';
import { currentInvocation } from '../runtime/program/context';
import { artifactsOf, captureArtifacts, decodeModelJson, encodeModel, GRAPH_MODEL_FORMAT } from './artifacts';
import { ArtifactCache, type CachedVersion } from './cache';
import { ModelFormatError, ModelNotFoundError } from './errors';
import {
  checkModelName,
  checkVersion,
  committedVersions,
  latestKey,
  modelPrefix,
  PART,
  partKey,
} from './layout';
import { decodeManifest, encodeManifest, makeManifest, type Manifest, versionBytes } from './manifest';
import { defaultStoreResolver, type StoreResolver } from './store-resolver';
import { ReportedStore } from './reported-store';
import { resolveTfjs } from './tfjs';
import type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  LoadOptions,
  ModelStoreOptions,
  ModelVersionInfo,
  SaveOptions,
} from './options';
import type { LayersModelLike, LoadHandlerLike, SavableModel, TfLike } from './tfjs-types';
import {
  claimVersion,
  DEFAULT_STALE_CLAIM_MS,
  discardVersion,
  inventory,
  listModel,
  refreshLatest,
  removeAbandoned,
} from './versions';

/** The process-wide warm cache (an execution environment is one process). */
export const sharedModelCache = new ArtifactCache();

/** How many manifests `list` reads at once. */
const LIST_CONCURRENCY = 8;

/** A version's manifest with its artifacts. */
interface FetchedVersion {
  manifest: Manifest;
  artifacts: CachedVersion;
}

/**
 * Versioned tfjs models in an object store. Cells use the package's
 * `models`:
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { models } from 'serverless-kernel';
 * const { version } = await models.save('mnist-mlp', model); // 1, then 2...
 * const newest = await models.load('mnist-mlp', { tf }); // a tf.LayersModel
 * const first = await models.load('mnist-mlp', { version: 1, tf });
 * await models.list(); // [{ name, version, bytes, savedAt }, ...]
 * await models.delete('mnist-mlp', { version: 1 });
 * ```
 */
export class ModelStore {
  private readonly resolveStore: StoreResolver;
  private readonly cache: ArtifactCache | undefined;
  private readonly staleClaimMs: number;
  private readonly tf: TfLike<unknown> | undefined;

  constructor(options: ModelStoreOptions = {}) {
    const store = options.store;
    this.resolveStore =
      store === undefined ? defaultStoreResolver : typeof store === 'function' ? store : () => store;
    this.cache = options.cache === false ? undefined : (options.cache ?? sharedModelCache);
    this.staleClaimMs = options.staleClaimMs ?? DEFAULT_STALE_CLAIM_MS;
    this.tf = options.tf;
  }

  /**
   * Saves `model` as the next version of `name` (1, 2, 3...; concurrent
   * saves get distinct versions). Resolves when the version is visible and
   * `latest.json` names it (or a newer one).
   */
  async save(name: string, model: SavableModel, options: SaveOptions = {}): Promise<ModelVersionInfo> {
    checkModelName(name);
    const { signal } = options;
    const artifacts = await captureArtifacts(model, { includeOptimizer: options.includeOptimizer ?? false });
    const store = new ReportedStore(await this.resolveStore());
    const saveId = randomUUID();
    const encoded = encodeModel(artifacts, { saveId, claimedAt: new Date().toISOString() });
    const { version, listing } = await claimVersion(store, name, encoded.topology, signal);
    let manifest: Manifest;
    let manifestBody: Uint8Array;
    try {
      await store.put(partKey(name, version, PART.weights), encoded.weights, { signal });
      manifest = makeManifest({
        name,
        version,
        saveId,
        savedAt: new Date().toISOString(),
        topologyBytes: encoded.topology.byteLength,
        weightBytes: encoded.weights.byteLength,
        modelFormat: artifacts.format,
      });
      manifestBody = encodeManifest(manifest);
      await store.put(partKey(name, version, PART.manifest), manifestBody, { signal });
    } catch (error) {
      // Free the claim now rather than wait for a later save to judge it abandoned (no signal: it may be what
      // aborted). If this fails too, the error to report is still the first one, and a later save cleans up.
      await discardVersion(store, name, version, undefined).catch(() => undefined);
      throw error;
    }
    if (this.caching()) {
      this.cache?.set(cacheKey(store, name, version), { saveId, ...encoded });
    }
    await refreshLatest(store, name, { version, manifest: manifestBody }, signal);
    // Housekeeping never fails a save that is already visible: the next save of the name tries again.
    await removeAbandoned(store, name, listing, version, this.staleClaimMs, signal).catch(
      (error: unknown) => {
        if (!(error instanceof StoreError)) {
          throw error;
        }
      },
    );
    return infoOf(manifest);
  }

  /**
   * Loads a version of `name` (the newest by default) as a new tfjs model.
   * Pass `{ tf }` (your `@tensorflow/tfjs`) or a type argument to get the
   * model typed as `tf.LayersModel`.
   */
  async load<M = LayersModelLike>(name: string, options: LoadOptions<M> = {}): Promise<M> {
    checkModelName(name);
    const version = options.version === undefined ? undefined : checkVersion(options.version);
    const store = new ReportedStore(await this.resolveStore());
    const fetched =
      version === undefined
        ? await this.fetchNewest(store, name, options.signal)
        : await this.fetchVersion(store, name, version, options.signal);
    return build<M>(fetched, (options.tf ?? this.tf ?? resolveTfjs()) as TfLike<M>);
  }

  /**
   * Every saved version, one row each, sorted by name then version (a flat
   * list reads best as a notebook value and as `console.table`).
   */
  async list(options: ListOptions = {}): Promise<ModelVersionInfo[]> {
    const { signal } = options;
    const only = options.name === undefined ? undefined : checkModelName(options.name);
    const store = new ReportedStore(await this.resolveStore());
    const models =
      only === undefined
        ? await inventory(store, signal)
        : [{ name: only, versions: committedVersions(await listModel(store, only, signal)) }];
    const wanted = models.flatMap((model) =>
      model.versions.map((version) => ({ name: model.name, version })),
    );
    const rows = await mapLimit(wanted, LIST_CONCURRENCY, async ({ name, version }) => {
      const key = partKey(name, version, PART.manifest);
      const body = await store.get(key, { signal });
      // Deleted since the listing: not there any more.
      return body ? infoOf(decodeManifest(body, key)) : undefined;
    });
    return rows.filter((row): row is ModelVersionInfo => row !== undefined);
  }

  /** Deletes one version of `name`, or all of them; each version's manifest goes first, so it vanishes at once. */
  async delete(name: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    checkModelName(name);
    const { signal } = options;
    const only = options.version === undefined ? undefined : checkVersion(options.version);
    const store = new ReportedStore(await this.resolveStore());
    const versions = committedVersions(await listModel(store, name, signal));
    if (versions.length === 0 || (only !== undefined && !versions.includes(only))) {
      throw await this.notFound(store, name, only, signal);
    }
    const doomed = only === undefined ? versions : [only];
    for (const version of doomed) {
      await store.delete(partKey(name, version, PART.manifest), { signal });
      this.cache?.remove(cacheKey(store, name, version));
    }
    if (only === undefined) {
      await store.deletePrefix(modelPrefix(name), { signal });
    } else {
      await refreshLatest(store, name, undefined, signal);
      await discardVersion(store, name, only, signal);
    }
    return { name, versions: doomed };
  }

  /** The newest version: one small get of `latest.json`, a listing when that is missing or behind. */
  private async fetchNewest(
    store: ObjectStore,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<FetchedVersion> {
    const key = latestKey(name);
    const pointer = await store.get(key, { signal });
    if (pointer) {
      const manifest = decodeManifest(pointer, key);
      const artifacts = await this.fetchArtifacts(store, manifest, signal);
      if (artifacts) {
        return { manifest, artifacts };
      }
    }
    const versions = committedVersions(await listModel(store, name, signal));
    if (versions.length === 0) {
      throw await this.notFound(store, name, undefined, signal);
    }
    return this.fetchVersion(store, name, versions[versions.length - 1], signal);
  }

  private async fetchVersion(
    store: ObjectStore,
    name: string,
    version: number,
    signal: AbortSignal | undefined,
  ): Promise<FetchedVersion> {
    const key = partKey(name, version, PART.manifest);
    const body = await store.get(key, { signal });
    if (!body) {
      throw await this.notFound(store, name, version, signal);
    }
    const manifest = decodeManifest(body, key);
    const artifacts = await this.fetchArtifacts(store, manifest, signal);
    if (!artifacts) {
      throw new ModelFormatError(
        `model ${JSON.stringify(name)} version ${version} changed or was deleted while loading; load it again`,
      );
    }
    return { manifest, artifacts };
  }

  /** The version's artifacts from the warm cache or the store; undefined when the store's are not the manifest's. */
  private async fetchArtifacts(
    store: ObjectStore,
    manifest: Manifest,
    signal: AbortSignal | undefined,
  ): Promise<CachedVersion | undefined> {
    const { name, version, saveId } = manifest;
    const caching = this.caching();
    const hit = caching ? this.cache?.get(cacheKey(store, name, version), saveId) : undefined;
    if (hit) {
      return hit;
    }
    const topologyKey = partKey(name, version, PART.topology);
    const [topology, weights] = await Promise.all([
      store.get(topologyKey, { signal }),
      store.get(partKey(name, version, PART.weights), { signal }),
    ]);
    if (!topology || !weights || decodeModelJson(topology, topologyKey).claim.saveId !== saveId) {
      return undefined;
    }
    if (weights.byteLength !== manifest.weightBytes) {
      throw new ModelFormatError(
        `model ${JSON.stringify(name)} version ${version}: weights.bin has ${weights.byteLength} bytes, ` +
          `its manifest says ${manifest.weightBytes}; save the model again`,
      );
    }
    const artifacts = { saveId, topology, weights };
    if (caching) {
      this.cache?.set(cacheKey(store, name, version), artifacts);
    }
    return artifacts;
  }

  private async notFound(
    store: ObjectStore,
    name: string,
    version: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ModelNotFoundError> {
    return new ModelNotFoundError({
      name,
      version,
      location: store.location,
      available: await inventory(store, signal),
    });
  }

  /** Artifacts are cached only inside an execution environment: in the kernel the user holds the model already. */
  private caching(): boolean {
    return this.cache !== undefined && currentInvocation() !== undefined;
  }
}

/** Builds a new model from fresh copies of the artifacts: no two loads share a buffer. */
async function build<M>(fetched: FetchedVersion, tf: TfLike<M>): Promise<M> {
  const { manifest, artifacts } = fetched;
  const where = partKey(manifest.name, manifest.version, PART.topology);
  const json = decodeModelJson(artifacts.topology, where);
  // tfjs copies while decoding today; a copy here keeps the cache safe whatever a tfjs version does.
  const weights = artifacts.weights.slice().buffer;
  const handler: LoadHandlerLike = { load: async () => artifactsOf(json, weights) };
  if (json.format === GRAPH_MODEL_FORMAT) {
    if (!tf.loadGraphModel) {
      throw new ModelFormatError(`${where} is a graph model and the tfjs given has no loadGraphModel`);
    }
    return (await tf.loadGraphModel(handler)) as M;
  }
  return tf.loadLayersModel(handler);
}

function cacheKey(store: ObjectStore, name: string, version: number): string {
  return `${store.kind}:${store.location}\n${name}\n${version}`;
}

function infoOf(manifest: Manifest): ModelVersionInfo {
  return {
    name: manifest.name,
    version: manifest.version,
    bytes: versionBytes(manifest),
    savedAt: manifest.savedAt,
  };
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await run(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

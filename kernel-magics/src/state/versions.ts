/**
 * Version bookkeeping over a store that has only put, putIfAbsent, get,
 * list and delete (no compare-and-swap):
 * - claiming a number: `putIfAbsent` of the version's `model.json`, so two
 *   concurrent saves of one name always get distinct versions;
 * - the `latest.json` pointer, which lets a load learn the newest version
 *   with one small get; it is rewritten until a listing taken after the
 *   write agrees with it, so once saves and deletes stop it names the
 *   newest version whatever their interleaving;
 * - cleaning versions a dead save left claimed but never committed.
 */
import type { ObjectStore } from '../exchange/store/object-store';
import { decodeModelJson } from './artifacts';
import { ModelFormatError, type ModelInventory, VersionClaimError } from './errors';
import {
  committedVersions,
  highestVersion,
  latestKey,
  type ModelListing,
  modelPrefix,
  MODELS_PREFIX,
  PART,
  parseListing,
  partKey,
  uncommittedVersions,
  versionPrefix,
} from './layout';

/** How many numbers one save tries after the listing's highest before giving up. */
export const MAX_CLAIM_ATTEMPTS = 64;

/** How many times the latest pointer is rewritten while versions keep changing under it. */
export const MAX_LATEST_ROUNDS = 5;

/** How old an uncommitted version's claim must be before a later save removes it. */
export const DEFAULT_STALE_CLAIM_MS = 60 * 60 * 1000;

type Signal = AbortSignal | undefined;

/** One model's listing (its versions' objects). */
export async function listModel(store: ObjectStore, name: string, signal: Signal): Promise<ModelListing> {
  const keys = await store.list(modelPrefix(name), { signal });
  return parseListing(keys).get(name) ?? new Map<number, Set<string>>();
}

/** Every model with committed versions, by name, for listings and messages. */
export async function inventory(store: ObjectStore, signal: Signal): Promise<ModelInventory> {
  const models = parseListing(await store.list(MODELS_PREFIX, { signal }));
  return [...models]
    .map(([name, listing]) => ({ name, versions: committedVersions(listing) }))
    .filter((model) => model.versions.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Claims the next free version of `name` by creating its `model.json`
 * (`topology`) with putIfAbsent, past every number anything is stored
 * under. Returns the number and the listing it started from.
 */
export async function claimVersion(
  store: ObjectStore,
  name: string,
  topology: Uint8Array,
  signal: Signal,
): Promise<{ version: number; listing: ModelListing }> {
  const listing = await listModel(store, name, signal);
  const first = highestVersion(listing) + 1;
  for (let version = first; version < first + MAX_CLAIM_ATTEMPTS; version += 1) {
    if (await store.putIfAbsent(partKey(name, version, PART.topology), topology, { signal })) {
      return { version, listing };
    }
  }
  throw new VersionClaimError(
    `could not claim a version of model ${JSON.stringify(name)}: versions ${first}-${first + MAX_CLAIM_ATTEMPTS - 1} ` +
      `were all taken by concurrent saves; save again`,
  );
}

/**
 * Points `latest.json` at the newest committed version (removes it when
 * none is left). `own`: the version this caller just committed, whose
 * manifest it need not read back.
 */
export async function refreshLatest(
  store: ObjectStore,
  name: string,
  own: { version: number; manifest: Uint8Array } | undefined,
  signal: Signal,
): Promise<void> {
  let newest = Math.max(0, ...committedVersions(await listModel(store, name, signal)));
  for (let round = 0; round < MAX_LATEST_ROUNDS; round += 1) {
    if (newest === 0) {
      await store.delete(latestKey(name), { signal });
    } else {
      const manifest =
        own?.version === newest
          ? own.manifest
          : await store.get(partKey(name, newest, PART.manifest), { signal });
      if (manifest) {
        await store.put(latestKey(name), manifest, { signal });
      }
    }
    // A save or delete that ended while this one wrote sees our write in its own check, or we see its version here.
    const now = Math.max(0, ...committedVersions(await listModel(store, name, signal)));
    if (now === newest) {
      return;
    }
    newest = now;
  }
  // Still changing: the saves and deletes changing it refresh it after us.
}

/** Removes a version: its manifest first (it vanishes at once), then the rest, its claim included. */
export async function discardVersion(
  store: ObjectStore,
  name: string,
  version: number,
  signal: Signal,
): Promise<void> {
  await store.delete(partKey(name, version, PART.manifest), { signal });
  await store.deletePrefix(versionPrefix(name, version), { signal });
}

/**
 * Removes versions below `below` that have objects but no manifest and
 * whose claim is older than `staleMs` (or unreadable): what a save that
 * died between its claim and its manifest left. Younger ones may be saves
 * still writing, and stay.
 */
export async function removeAbandoned(
  store: ObjectStore,
  name: string,
  listing: ModelListing,
  below: number,
  staleMs: number,
  signal: Signal,
): Promise<number[]> {
  const removed: number[] = [];
  for (const version of uncommittedVersions(listing).filter((v) => v < below)) {
    const key = partKey(name, version, PART.topology);
    const claim = await store.get(key, { signal });
    if (claim && !isStale(claim, key, staleMs)) {
      continue;
    }
    await store.deletePrefix(versionPrefix(name, version), { signal });
    removed.push(version);
  }
  return removed;
}

function isStale(claim: Uint8Array, where: string, staleMs: number): boolean {
  try {
    const claimedAt = Date.parse(decodeModelJson(claim, where).claim.claimedAt);
    return !(Date.now() - claimedAt < staleMs);
  } catch (error) {
    if (error instanceof ModelFormatError) {
      return true;
    }
    throw error;
  }
}

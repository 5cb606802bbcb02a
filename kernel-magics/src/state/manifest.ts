/**
 * A version's manifest: written last, so a version exists iff its manifest
 * does; it also says what the version's objects hold (sizes, which save
 * wrote them), so a load can check them. The model's `latest.json` is a
 * copy of its newest manifest.
 */
import { ModelFormatError } from './errors';

const FORMAT = 'serverless-kernel/model-version';
const FORMAT_VERSION = 1;

/** What a manifest records. */
export interface Manifest {
  format: typeof FORMAT;
  formatVersion: typeof FORMAT_VERSION;
  name: string;
  version: number;
  /** The save that wrote the version (also in its `model.json`). */
  saveId: string;
  /** When the version became visible (ISO 8601). */
  savedAt: string;
  /** Size of `model.json`. */
  topologyBytes: number;
  /** Size of `weights.bin`. */
  weightBytes: number;
  /** tfjs's model format (`layers-model`, `graph-model`). */
  modelFormat?: string;
}

/** Builds a manifest. */
export function makeManifest(fields: Omit<Manifest, 'format' | 'formatVersion'>): Manifest {
  return { format: FORMAT, formatVersion: FORMAT_VERSION, ...fields };
}

/** Encodes a manifest as UTF-8 JSON. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** Decodes a manifest; throws {@link ModelFormatError} naming `where` when it is not one this store wrote. */
export function decodeManifest(bytes: Uint8Array, where: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ModelFormatError(`${where} is not JSON; save the model again`, { cause: error });
  }
  const m = value as Partial<Manifest> | null;
  if (
    !m ||
    m.format !== FORMAT ||
    m.formatVersion !== FORMAT_VERSION ||
    typeof m.name !== 'string' ||
    !Number.isSafeInteger(m.version) ||
    typeof m.saveId !== 'string' ||
    typeof m.savedAt !== 'string' ||
    !Number.isSafeInteger(m.topologyBytes) ||
    !Number.isSafeInteger(m.weightBytes)
  ) {
    throw new ModelFormatError(
      `${where} is not a manifest this store wrote (format ${FORMAT} v${FORMAT_VERSION}); save the model again`,
    );
  }
  return m as Manifest;
}

/** The stored size of a version's model: its `model.json` and `weights.bin` (the manifest is bookkeeping). */
export function versionBytes(manifest: Manifest): number {
  return manifest.topologyBytes + manifest.weightBytes;
}

/**
 * The embedded object store: files under one directory on this machine (the
 * default store; it survives kernel restarts). Every execution environment
 * sees the same directory (the sandbox binds it in, writable).
 *
 * The object under key `a/b` is the file `a/b.obj`, so that `a` and `a/b`
 * can both be keys, as in S3 and Redis. A put writes a temporary file in
 * `#tmp/` (a name no key can take) and renames it into place: readers see
 * the old object or the new one, never part of one.
 */
import { randomBytes } from 'node:crypto';
import { FSWatcher, mkdirSync, promises as fs, watch as watchDirectory } from 'node:fs';
import * as path from 'node:path';

import { rangePastEnd, StoreError } from './errors';
import {
  checkKey,
  checkPrefix,
  checkRange,
  directoryOf,
  ObjectStore,
  StoreCallOptions,
} from './object-store';

const OBJECT_SUFFIX = '.obj';
const TMP_DIR = '#tmp';
/** Writes retried after creating their directory (a concurrent prune can remove it again in between). */
const DIRECTORY_ATTEMPTS = 3;

/** Files under a directory, as an {@link ObjectStore}. */
export class EmbeddedStore implements ObjectStore {
  readonly kind = 'embedded' as const;
  readonly location: string;
  private closed = false;
  /** Temporary files are `<pid>-<random>-<n>`: unique without drawing random bytes for each. */
  private readonly tmpPrefix = `${process.pid}-${randomBytes(8).toString('hex')}`;
  private temporaries = 0;

  /** `root`: the store's directory (created on first write). */
  constructor(private readonly root: string) {
    this.location = root;
  }

  async put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    const file = this.fileOf(key, 'put', options);
    const tmp = await this.writeTemporary(body, key, 'put');
    try {
      await inDirectory(file, () => fs.rename(tmp, file));
    } catch (error) {
      await removeFile(tmp).catch(() => undefined);
      throw this.failure('put', key, error);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    const file = this.fileOf(key, 'putIfAbsent', options);
    const tmp = await this.writeTemporary(body, key, 'putIfAbsent');
    try {
      // link() fails if the name exists: the one atomic create-if-absent of a whole file.
      await inDirectory(file, () => fs.link(tmp, file));
      return true;
    } catch (error) {
      if (isCode(error, 'EEXIST')) {
        return false;
      }
      throw this.failure('putIfAbsent', key, error);
    } finally {
      await removeFile(tmp);
    }
  }

  async get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    const file = this.fileOf(key, 'get', options);
    try {
      const data = await fs.readFile(file, { signal: options?.signal });
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (isCode(error, 'ENOENT')) {
        return undefined;
      }
      if (options?.signal?.aborted) {
        // An abort during the read rejects with the signal's reason, as every store's calls do.
        throw options.signal.reason;
      }
      throw this.failure('get', key, error);
    }
  }

  async getRange(
    key: string,
    offset: number,
    length: number,
    options?: StoreCallOptions,
  ): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    const file = this.fileOf(key, 'getRange', options);
    let handle: fs.FileHandle | undefined;
    try {
      // The open file is one version of the object: a put renames a new file over the name.
      handle = await fs.open(file, 'r');
      const out = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        options?.signal?.throwIfAborted();
        const { bytesRead } = await handle.read(out, read, length - read, offset + read);
        if (bytesRead === 0) {
          break;
        }
        read += bytesRead;
      }
      if (read < length) {
        throw rangePastEnd(
          `embedded store ${this.root}`,
          this.info('getRange', key),
          { offset, length },
          read,
        );
      }
      return out;
    } catch (error) {
      if (isCode(error, 'ENOENT')) {
        return undefined;
      }
      if (options?.signal?.aborted) {
        throw options.signal.reason;
      }
      throw error instanceof StoreError ? error : this.failure('getRange', key, error);
    } finally {
      await handle?.close();
    }
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    this.ready('list', options);
    checkPrefix(prefix);
    // Walk only the deepest directory the prefix names; filter by the whole prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const keys: string[] = [];
    await this.walk(dirKey, prefix, keys, options?.signal);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }

  async delete(key: string, options?: StoreCallOptions): Promise<void> {
    const file = this.fileOf(key, 'delete', options);
    try {
      await removeFile(file);
    } catch (error) {
      throw this.failure('delete', key, error);
    }
  }

  async deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    const keys = await this.list(prefix, options);
    for (const key of keys) {
      await this.delete(key, options);
    }
    await this.pruneEmpty(keys);
    return keys.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Watches the directory of the keys directly under `prefix` (inotify on
   * Linux): a put renames its file into it, a delete unlinks one. The
   * directory is created first, so a watch started before the first write
   * sees it. Any failure (no such support, too many watches) gives a watch
   * that never calls: the waiter polls as it would without one.
   */
  watch(prefix: string, onChange: () => void): () => void {
    const dirKey = directoryOf(checkPrefix(prefix));
    const dir = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    let watcher: FSWatcher | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      watcher = watchDirectory(dir, { persistent: false }, () => onChange());
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher?.close();
      return () => undefined;
    }
    return () => watcher?.close();
  }

  private fileOf(key: string, operation: string, options?: StoreCallOptions): string {
    this.ready(operation, options);
    return path.join(this.root, ...checkKey(key).split('/')) + OBJECT_SUFFIX;
  }

  private ready(operation: string, options?: StoreCallOptions): void {
    if (this.closed) {
      throw new StoreError(`the embedded store at ${this.root} is closed`, this.info(operation));
    }
    options?.signal?.throwIfAborted();
  }

  private async writeTemporary(body: Uint8Array, key: string, operation: string): Promise<string> {
    this.temporaries += 1;
    const tmp = path.join(this.root, TMP_DIR, `${this.tmpPrefix}-${this.temporaries}`);
    try {
      await inDirectory(tmp, () => fs.writeFile(tmp, body));
      return tmp;
    } catch (error) {
      await removeFile(tmp).catch(() => undefined);
      throw this.failure(operation, key, error);
    }
  }

  /** Collects the keys under `dirKey`, entering only the directories that can hold keys starting with `prefix`. */
  private async walk(dirKey: string, prefix: string, into: string[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const dir = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) {
        return;
      }
      throw this.failure('list', dirKey, error);
    }
    for (const entry of entries) {
      if (entry.name === TMP_DIR) {
        continue;
      }
      const child = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const below = `${child}/`;
        if (below.startsWith(prefix) || prefix.startsWith(below)) {
          await this.walk(child, prefix, into, signal);
        }
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        into.push(child.slice(0, -OBJECT_SUFFIX.length));
      }
    }
  }

  /** Removes directories the deleted keys left empty, deepest first (one a concurrent put refilled stays). */
  private async pruneEmpty(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const parts = key.split('/');
      for (let depth = parts.length - 1; depth > 0; depth -= 1) {
        dirs.add(parts.slice(0, depth).join('/'));
      }
    }
    const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const dir of deepestFirst) {
      await fs.rmdir(path.join(this.root, ...dir.split('/'))).catch(() => undefined);
    }
  }

  private info(operation: string, key?: string) {
    return { kind: this.kind, location: this.root, operation, key };
  }

  private failure(operation: string, key: string, error: unknown): StoreError {
    const reason = error instanceof Error ? error.message : String(error);
    return new StoreError(
      `embedded store ${this.root}: ${operation} ${key} failed: ${reason}`,
      this.info(operation, key),
      { cause: error },
    );
  }
}

/**
 * Runs `write`, which creates `file`; when its directory is missing (the
 * first object under it, or a deletePrefix pruned it meanwhile), creates the
 * directory and runs `write` again. Trying first saves a mkdir on every
 * write to a directory that exists.
 */
async function inDirectory<T>(file: string, write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (!isCode(error, 'ENOENT') || attempt >= DIRECTORY_ATTEMPTS) {
        throw error;
      }
    }
    await fs.mkdir(path.dirname(file), { recursive: true });
  }
}

/** Removes a file; one that is not there is fine. */
async function removeFile(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) {
      throw error;
    }
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

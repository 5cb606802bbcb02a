/**
 * The Redis object store: one string value per key, under the URL's key
 * namespace, in one database. A put is a SET (atomic: a reader gets the old
 * value or the new one), put-if-absent a SET NX, a get GET as a Buffer (the
 * value is binary), a listing SCAN MATCH on the namespaced prefix (SCAN
 * walks the whole database, so a listing costs in proportion to every key
 * there: give the store a database of its own when it is large).
 *
 * Every call is bounded: a command that gets no reply within the URL's
 * `timeoutMs` rejects; a lost connection rejects the calls in flight at once
 * (they are never re-sent after a reconnect, so a call that failed cannot
 * land later); reconnection is tried a few times with backoff, then again
 * only when a call needs the server. `ioredis` is loaded when the first
 * RedisStore is made, never by a program that uses no Redis store.
 *
 * Watches: every write and removal also PUBLISHes the key's directory on a
 * channel of the store's namespace, sent with the write on the same
 * connection (so it reaches subscribers after the write is applied, at no
 * extra round trip). A store that is watched holds a second connection,
 * subscribed to the channels of the directories watched (only those: a
 * worker is not woken by the rest of the exchange's traffic), and wakes the
 * watches of the directory named. Publishing needs no server configuration
 * (keyspace notifications would, and managed Redis often forbids it).
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';

import { abortable, reasonOf } from './calls';
import { rangePastEnd, StoreError, StoreTimeoutError, StoreUnavailableError } from './errors';
import {
  checkKey,
  checkPrefix,
  checkRange,
  directoryOf,
  ObjectStore,
  StoreCallOptions,
} from './object-store';
import { REDIS_SCAN_COUNT, REDIS_UNLINK_BATCH } from './requests';
import type { RedisStoreSpec } from './url';

/** The environment variable a Redis password is read from (never from the URL). */
export const REDIS_PASSWORD_ENV = 'SERVERLESS_REDIS_PASSWORD';
/** The environment variable a Redis ACL user name is read from. */
export const REDIS_USERNAME_ENV = 'SERVERLESS_REDIS_USERNAME';
/** How long opening a connection may take, ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** Reconnection attempts after a connection is lost, before waiting for the next call. */
export const REDIS_RECONNECT_ATTEMPTS = 3;
const RECONNECT_BASE_MS = 100;
const REDIS_DISCONNECT_TIMEOUT_MS = 500;
/** The start of every change channel: then the store's namespace, then the changed key's directory. */
export const REDIS_CHANGES_CHANNEL = 'serverless-store-changes:';

/** Options of a {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Where the password and user name are read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A Redis database as an {@link ObjectStore}. */
export class RedisStore implements ObjectStore {
  readonly kind = 'redis' as const;
  readonly location: string;
  private readonly client: RedisClient;
  private readonly prefix: string;
  /** Where this store's changes are published: {@link REDIS_CHANGES_CHANNEL} and the namespace. */
  private readonly changes: string;
  /** The connection subscribed to {@link changes}, opened by the first watch. */
  private subscriber: RedisClient | undefined;
  /** The callbacks of the open watches, by watched directory. */
  private readonly watches = new Map<string, Set<{ onChange: () => void }>>();
  private closed = false;
  /** The last connection error, for messages. */
  private lastError: Error | undefined;

  constructor(
    private readonly spec: RedisStoreSpec,
    options: RedisStoreOptions = {},
  ) {
    this.location = spec.url;
    this.prefix = spec.prefix;
    this.changes = REDIS_CHANGES_CHANNEL + spec.prefix;
    const env = options.env ?? process.env;
    // Loaded here only: a worker that never opens a Redis store does not pay for ioredis.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
    const { Redis } = require('ioredis') as typeof import('ioredis');
    const clientOptions: RedisOptions = {
      host: spec.host,
      port: spec.port,
      db: spec.db,
      password: env[REDIS_PASSWORD_ENV] || undefined,
      username: env[REDIS_USERNAME_ENV] || undefined,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      commandTimeout: spec.timeoutMs,
      // Connect on the first call; commands wait for the connection in the offline queue,
      // and every failed connection attempt fails them (no retries per request).
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) =>
        times <= REDIS_RECONNECT_ATTEMPTS ? RECONNECT_BASE_MS * 2 ** (times - 1) : null,
      // How long a closing socket may take to end before it is destroyed.
      disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
      disableClientInfo: true,
      maintNotifications: 'disabled',
    };
    this.client = new Redis(clientOptions);
    this.client.on('error', (error: Error) => {
      this.lastError = error;
    });
    this.client.on('ready', () => {
      this.lastError = undefined;
    });
  }

  async put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    const name = this.nameOf(key);
    await this.call('put', key, options, (client) =>
      this.announced(client, key, client.set(name, asBuffer(body))),
    );
  }

  async putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    const name = this.nameOf(key);
    const reply = await this.call('putIfAbsent', key, options, (client) =>
      this.announced(client, key, client.set(name, asBuffer(body), 'NX')),
    );
    return reply === 'OK';
  }

  async get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    const name = this.nameOf(key);
    const value = await this.call('get', key, options, (client) => client.getBuffer(name));
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async getRange(
    key: string,
    offset: number,
    length: number,
    options?: StoreCallOptions,
  ): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    const name = this.nameOf(key);
    const value = await this.call('getRange', key, options, (client) =>
      client.getrangeBuffer(name, offset, offset + length - 1),
    );
    if (value.byteLength === length) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    // GETRANGE answers an absent key and a range past the end alike (empty): only then ask which.
    if (
      value.byteLength === 0 &&
      !(await this.call('getRange', key, options, (client) => client.exists(name)))
    ) {
      return undefined;
    }
    throw rangePastEnd(
      `Redis at ${this.spec.host}:${this.spec.port}`,
      this.info('getRange', key),
      { offset, length },
      value.byteLength,
    );
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    checkPrefix(prefix);
    const pattern = `${escapeGlob(this.prefix + prefix)}*`;
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, names] = await this.call('list', prefix, options, (client) =>
        client.scan(cursor, 'MATCH', pattern, 'COUNT', REDIS_SCAN_COUNT),
      );
      for (const name of names) {
        // SCAN may return a key twice; a key written mid-scan may or may not appear.
        found.add(name.slice(this.prefix.length));
      }
      cursor = next;
    } while (cursor !== '0');
    return [...found].sort();
  }

  async delete(key: string, options?: StoreCallOptions): Promise<void> {
    const name = this.nameOf(key);
    await this.call('delete', key, options, (client) => this.announced(client, key, client.unlink(name)));
  }

  async deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    const keys = await this.list(prefix, options);
    let removed = 0;
    for (let start = 0; start < keys.length; start += REDIS_UNLINK_BATCH) {
      const names = keys.slice(start, start + REDIS_UNLINK_BATCH).map((key) => this.prefix + key);
      removed += await this.call('deletePrefix', prefix, options, (client) => client.unlink(...names));
    }
    for (const directory of new Set(keys.map(directoryOf))) {
      this.announce(this.client, directory);
    }
    return removed;
  }

  /**
   * Calls `onChange` soon after a key directly under `prefix`'s directory
   * is written or removed through any RedisStore of this namespace (see the
   * file's comment). Best effort: while the subscription is being made, or
   * when its connection is lost, changes go unreported and waiters poll.
   */
  watch(prefix: string, onChange: () => void): () => void {
    if (this.closed) {
      return () => undefined;
    }
    const directory = directoryOf(checkPrefix(prefix));
    // A new connection subscribes to the directories already watched; this one's is subscribed below.
    const subscriber = this.subscriberConnection();
    const watch = { onChange };
    const watching = this.watches.get(directory) ?? new Set();
    this.watches.set(directory, watching);
    watching.add(watch);
    if (watching.size === 1) {
      subscriber.subscribe(this.changes + directory).catch(() => undefined);
    }
    return () => {
      watching.delete(watch);
      if (watching.size === 0 && this.watches.get(directory) === watching) {
        this.watches.delete(directory);
        // Commands on one connection run in order: a later watch's SUBSCRIBE comes after this.
        if (subscriber === this.subscriber && subscriber.status !== 'end') {
          subscriber.unsubscribe(this.changes + directory).catch(() => undefined);
        }
      }
    };
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // disconnect(), not quit(): it ends the socket and any reconnection timer at once, even
      // when the server is gone (quit would wait for a reply). Once ended there is nothing to
      // close, and disconnect() would arm a timer for a socket that already closed.
      if (this.client.status !== 'end') {
        this.client.disconnect();
      }
      if (this.subscriber && this.subscriber.status !== 'end') {
        this.subscriber.disconnect();
      }
      this.watches.clear();
    }
  }

  /** `command`, with the change of `key` published behind it on the same connection. */
  private announced<T>(client: RedisClient, key: string, command: Promise<T>): Promise<T> {
    this.announce(client, directoryOf(key));
    return command;
  }

  /** Publishes a change of `directory` (best effort: a lost message only leaves a waiter polling). */
  private announce(client: RedisClient, directory: string): void {
    client.publish(this.changes + directory, '').catch(() => undefined);
  }

  /**
   * The subscriber connection: opened by the first watch, and again when
   * the last gave up reconnecting (subscribed then to every directory still
   * watched; a reconnection within its attempts resubscribes by itself).
   */
  private subscriberConnection(): RedisClient {
    if (this.subscriber && this.subscriber.status !== 'end') {
      return this.subscriber;
    }
    // Same server and options, its own connection: a subscribed connection can send no other command.
    const subscriber = this.client.duplicate();
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string) => {
      const watching = this.watches.get(channel.slice(this.changes.length));
      for (const watch of [...(watching ?? [])]) {
        watch.onChange();
      }
    });
    const directories = [...this.watches.keys()];
    if (directories.length > 0) {
      subscriber
        .subscribe(...directories.map((directory) => this.changes + directory))
        .catch(() => undefined);
    }
    this.subscriber = subscriber;
    return subscriber;
  }

  private nameOf(key: string): string {
    return this.prefix + checkKey(key);
  }

  /** Runs one command (connecting first if needed), bounded, with its errors typed. */
  private async call<T>(
    operation: string,
    key: string,
    options: StoreCallOptions | undefined,
    command: (client: RedisClient) => Promise<T>,
  ): Promise<T> {
    if (this.closed) {
      throw new StoreError(`the Redis store ${this.location} is closed`, this.info(operation, key));
    }
    const signal = options?.signal;
    signal?.throwIfAborted();
    const status = this.client.status;
    if (status === 'wait' || status === 'end') {
      // Its failure also fails the queued command, which reports it.
      this.client.connect().catch(() => undefined);
    }
    try {
      return await abortable(command(this.client), signal);
    } catch (error) {
      if (signal?.aborted) {
        throw signal.reason;
      }
      throw this.failure(operation, key, error);
    }
  }

  private info(operation: string, key?: string) {
    return { kind: this.kind, location: this.location, operation, key };
  }

  private failure(operation: string, key: string, error: unknown): StoreError {
    const reason = reasonOf(error);
    const info = this.info(operation, key);
    const where = `Redis at ${this.spec.host}:${this.spec.port} db ${this.spec.db}`;
    if (this.closed) {
      return new StoreError(`${where}: the store was closed during ${operation} ${key}`, info, {
        cause: error,
      });
    }
    if (/command timed out/i.test(reason)) {
      return new StoreTimeoutError(
        `${operation} ${key}: ${where} sent no reply within ${this.spec.timeoutMs} ms: the server is ` +
          'overloaded or unreachable (check it, or raise ?timeoutMs= on the store URL)',
        info,
        { cause: error },
      );
    }
    if (isConnectionError(error, reason)) {
      // The command's own error only says the connection failed; the client's last error says why.
      const why = this.lastError ? reasonOf(this.lastError) : reason;
      return new StoreUnavailableError(
        `${operation} ${key}: cannot reach ${where} (${why}). Start redis-server there, or check ` +
          `the store URL (\`%serverless config --store\`, now ${this.location})`,
        info,
        { cause: error },
      );
    }
    if (/NOAUTH|WRONGPASS|NOPERM/.test(reason)) {
      return new StoreError(
        `${operation} ${key}: ${where} refused the credentials: ${reason}. Set $${REDIS_PASSWORD_ENV} ` +
          `(and $${REDIS_USERNAME_ENV} for an ACL user) where the kernel and its workers run`,
        info,
        { cause: error },
      );
    }
    return new StoreError(`${operation} ${key} on ${where} failed: ${reason}`, info, { cause: error });
  }
}

/** Errors that mean the connection is down (refused, lost, closed), not a command's error. */
function isConnectionError(error: unknown, reason: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (
    code &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/.test(code)
  ) {
    return true;
  }
  return (
    (error as Error | undefined)?.name === 'MaxRetriesPerRequestError' ||
    /connection is closed|stream isn't writeable|max retries per request|connect ETIMEDOUT|socket closed/i.test(
      reason,
    )
  );
}

/** The bytes as a Buffer over the same memory (ioredis sends Buffers as binary, other views as text). */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** `text` with Redis glob characters escaped, so SCAN MATCH takes it literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

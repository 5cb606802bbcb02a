/**
 * The S3 object store: one object per key under the URL's bucket and prefix,
 * on AWS S3 or an S3-compatible endpoint (`?endpoint=`, path-style).
 * Credentials come from the AWS SDK's default chain only.
 *
 * Guarantees, and where they come from:
 * - A put is atomic on S3 (a reader gets the old or the new object). Each
 *   object also carries the SHA-256 of its body in its metadata; a get
 *   whose body does not match reads again (a few times, with backoff), so a
 *   server that writes in place (s3rver does) still never hands out a torn
 *   object: the get returns a whole one or fails. (s3rver can even keep a
 *   mix of two concurrent PUTs of one key: every get of it then fails. An
 *   object without that entry, still being written there or written by
 *   another tool, is read again the same way, then refused.)
 * - Put-if-absent is a PUT with `If-None-Match: *`, atomic on S3 (a 412
 *   means the key existed). Whether the endpoint enforces that header is
 *   probed once per store ({@link S3Store.conditionalWrites}); where it does
 *   not (s3rver 3.7.1 ignores it), put-if-absent is a HEAD then a PUT, which
 *   is atomic only among the calls of this store instance (they are
 *   serialized per key): two processes can both see the key absent and
 *   both write it, the later PUT winning.
 * - A listing pages through ListObjectsV2 (1,000 keys a page). S3 returns
 *   keys in order, which the continuation token relies on; a server that
 *   does not (s3rver, for keys such as `x` next to `x-y` or `x/...`) can
 *   skip keys across pages. Disorder seen in a truncated listing is an
 *   error rather than a short list; a page can also look ordered and still
 *   follow a skipped key, which no client can see, so on such a server a
 *   listing of over 1,000 keys with such names is unreliable.
 * - Every request is bounded (see `s3-client.ts`: connection and request
 *   timeouts, a few attempts with the SDK's standard backoff for throttling
 *   and 5xx) and takes the caller's AbortSignal.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { GetObjectCommandOutput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';

import { abortable, backoffMs, pause, reasonOf } from './calls';
import { rangePastEnd, StoreError } from './errors';
import { checkKey, checkPrefix, checkRange, ObjectStore, StoreCallOptions } from './object-store';
import { S3_DELETE_BATCH, S3_LIST_PAGE } from './requests';
import { s3ClientConfig, S3ClientOptions } from './s3-client';
import { httpStatusOf, s3CodeOf, s3Failure } from './s3-errors';
import type { S3StoreSpec } from './url';

type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Reads of an object whose body does not match its checksum, before the get fails. */
export const S3_TORN_READ_ATTEMPTS = 8;
/** Conditional PUTs answered 409 ConditionalRequestConflict, before put-if-absent fails. */
export const S3_CONFLICT_ATTEMPTS = 5;
/** The user metadata entry holding the SHA-256 of an object's body (hex). */
export const S3_CHECKSUM_METADATA = 'sha256';

const RETRY_BASE_MS = 50;
const RETRY_CAP_MS = 1_000;
/**
 * The probe's objects sit beside the store's keys, not in a folder of their own: s3rver removes
 * a folder its last object left, and a probe of another process writing into it then crashes it.
 */
const PROBE_PREFIX = '.serverless-kernel-probe-';
const NOT_HANDLED = Symbol('not handled');

/** Options of an {@link S3Store}. */
export interface S3StoreOptions extends S3ClientOptions {
  /** A client to use instead of one made from the spec (not destroyed by close()). */
  client?: S3Client;
}

/** An S3 bucket and prefix as an {@link ObjectStore}. */
export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  private readonly sdk: S3Sdk;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly where: string;
  private closed = false;
  private probe: Promise<boolean> | undefined;
  /** Put-if-absent calls in flight per object name, when the endpoint has no conditional writes. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly spec: S3StoreSpec,
    options: S3StoreOptions = {},
  ) {
    this.location = spec.url;
    this.where = `S3 bucket ${spec.bucket}${spec.prefix ? ` (prefix ${spec.prefix})` : ''}${
      spec.endpoint ? ` at ${spec.endpoint}` : ''
    }`;
    // Loaded here only: a worker that never opens an S3 store does not pay for the SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
    this.sdk = require('@aws-sdk/client-s3') as S3Sdk;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new this.sdk.S3Client(s3ClientConfig(spec, options));
  }

  async put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    const name = this.nameOf(key);
    await this.run('put', key, options, (abortSignal) =>
      this.client.send(new this.sdk.PutObjectCommand(this.putInput(name, body)), { abortSignal }),
    );
  }

  async putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    const name = this.nameOf(key);
    if (await this.conditionalWrites(options)) {
      return this.conditionalPut(key, name, body, options);
    }
    return this.serialized(name, () => this.headThenPut(key, name, body, options));
  }

  async get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.read('get', key, undefined, options);
  }

  /**
   * A ranged GET. Its bytes cannot be checked against the object's checksum
   * (that is of the whole body). A server that writes in place (s3rver)
   * truncates the file and then appends, so a range of an object being
   * written comes back short, or refused as past the end, or without the
   * checksum entry: each is read again with backoff, as a torn get is, and
   * only a range still past the end after that is an error. Two writers of
   * one key at once can still leave such a server a mix; S3 never does.
   */
  async getRange(
    key: string,
    offset: number,
    length: number,
    options?: StoreCallOptions,
  ): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    return this.read('getRange', key, { offset, length }, options);
  }

  /** A GET of the whole object or of a range, read again while its body is not yet whole (see the module comment). */
  private async read(
    operation: string,
    key: string,
    range: { offset: number; length: number } | undefined,
    options?: StoreCallOptions,
  ): Promise<Uint8Array | undefined> {
    const name = this.nameOf(key);
    const input = {
      Bucket: this.spec.bucket,
      Key: name,
      Range: range && `bytes=${range.offset}-${range.offset + range.length - 1}`,
    };
    for (let read = 1; ; read += 1) {
      const response = await this.run<GetObjectCommandOutput | StoreError | undefined>(
        operation,
        key,
        options,
        (abortSignal) => this.client.send(new this.sdk.GetObjectCommand(input), { abortSignal }),
        (error) =>
          s3CodeOf(error) === 'NoSuchKey' || httpStatusOf(error) === 404
            ? undefined
            : range && (httpStatusOf(error) === 416 || s3CodeOf(error) === 'InvalidRange')
              ? rangePastEnd(this.where, this.info(operation, key), range, 0)
              : NOT_HANDLED,
      );
      if (response === undefined) {
        return undefined;
      }
      // A range past the end is read again too: on a server that writes in place, the object may be being replaced.
      let problem: string | StoreError;
      try {
        if (response instanceof StoreError) {
          throw response;
        }
        const body = await abortable(readBody(response), options?.signal);
        const checksum = response.Metadata?.[S3_CHECKSUM_METADATA];
        if (range && checksum !== undefined) {
          const part = askedPart(body, response.ContentRange, range);
          if (part) {
            return part;
          }
          throw rangePastEnd(this.where, this.info(operation, key), range, body.byteLength);
        }
        if (checksum !== undefined && sha256(body) === checksum) {
          return body;
        }
        problem =
          checksum === undefined
            ? // A server that writes in place serves an object being written for the first time before its metadata.
              'it has no checksum (it is being written by a server that does not write atomically, or was not written by this store)'
            : 'its body does not match its checksum (a server that does not write atomically was rewriting it, ' +
              'or kept a mix of two concurrent writes)';
      } catch (error) {
        if (options?.signal?.aborted) {
          throw options.signal.reason;
        }
        problem = error instanceof StoreError ? error : `its body could not be read (${reasonOf(error)})`;
      }
      if (read >= S3_TORN_READ_ATTEMPTS) {
        if (problem instanceof StoreError) {
          throw problem;
        }
        throw new StoreError(
          `${operation} ${key}: ${this.where}: ${problem}, in each of ${read} reads; retry later`,
          this.info(operation, key),
        );
      }
      await pause(backoffMs(read, RETRY_BASE_MS, RETRY_CAP_MS), options?.signal);
    }
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    checkPrefix(prefix);
    const names: string[] = [];
    let token: string | undefined;
    let ordered = true;
    do {
      const page: ListObjectsV2CommandOutput = await this.run('list', prefix, options, (abortSignal) =>
        this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.spec.bucket,
            Prefix: this.spec.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: S3_LIST_PAGE,
          }),
          { abortSignal },
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) {
          ordered &&= names.length === 0 || names[names.length - 1] < object.Key;
          names.push(object.Key);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new StoreError(
          `list ${prefix}: ${this.where} truncated a listing without a continuation token`,
          this.info('list', prefix),
        );
      }
      if (token !== undefined && !ordered) {
        throw new StoreError(
          `list ${prefix}: ${this.where} returned keys out of order in a listing of more than ${S3_LIST_PAGE} keys, ` +
            'so its pages may have skipped keys (S3 does not do this; s3rver does): list narrower prefixes',
          this.info('list', prefix),
        );
      }
    } while (token !== undefined);
    return names.map((name) => name.slice(this.spec.prefix.length)).sort();
  }

  async delete(key: string, options?: StoreCallOptions): Promise<void> {
    const name = this.nameOf(key);
    await this.run('delete', key, options, (abortSignal) =>
      this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.spec.bucket, Key: name }), {
        abortSignal,
      }),
    );
  }

  async deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    const keys = await this.list(prefix, options);
    for (let start = 0; start < keys.length; start += S3_DELETE_BATCH) {
      const batch = keys.slice(start, start + S3_DELETE_BATCH);
      const output = await this.run('deletePrefix', prefix, options, (abortSignal) =>
        this.client.send(
          new this.sdk.DeleteObjectsCommand({
            Bucket: this.spec.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.spec.prefix + key })), Quiet: true },
          }),
          { abortSignal },
        ),
      );
      const errors = output.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new StoreError(
          `deletePrefix ${prefix}: ${this.where} did not delete ${errors.length} of ${batch.length} keys ` +
            `(first: ${first.Key}: ${first.Code} ${first.Message})`,
          this.info('deletePrefix', prefix),
        );
      }
    }
    return keys.length;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.ownsClient) {
        this.client.destroy();
      }
    }
  }

  /**
   * Whether the endpoint enforces `If-None-Match: *` on PUT (so that
   * put-if-absent is atomic across processes). Probed once, on first use:
   * two conditional PUTs of an empty object under a fresh key below the
   * prefix, then its delete.
   */
  conditionalWrites(options?: StoreCallOptions): Promise<boolean> {
    this.probe ??= this.probeConditionalWrites().catch((error: unknown) => {
      this.probe = undefined;
      throw error;
    });
    return abortable(this.probe, options?.signal);
  }

  private async probeConditionalWrites(): Promise<boolean> {
    const key = `${PROBE_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
    const name = this.spec.prefix + key;
    const conditionalPut = () =>
      this.run(
        'probe',
        key,
        undefined,
        (abortSignal) =>
          this.client
            .send(
              new this.sdk.PutObjectCommand({ ...this.putInput(name, new Uint8Array(0)), IfNoneMatch: '*' }),
              { abortSignal },
            )
            .then(() => true),
        (error) => (httpStatusOf(error) === 412 ? false : NOT_HANDLED),
      );
    try {
      await conditionalPut();
      return !(await conditionalPut());
    } finally {
      await this.delete(key).catch(() => undefined);
    }
  }

  private async conditionalPut(
    key: string,
    name: string,
    body: Uint8Array,
    options?: StoreCallOptions,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.run<'written' | 'exists' | 'conflict'>(
        'putIfAbsent',
        key,
        options,
        (abortSignal) =>
          this.client
            .send(new this.sdk.PutObjectCommand({ ...this.putInput(name, body), IfNoneMatch: '*' }), {
              abortSignal,
            })
            .then(() => 'written' as const),
        // 412: the key exists. 409: another conditional write of the key was in flight; S3 says retry.
        (error) =>
          httpStatusOf(error) === 412 ? 'exists' : httpStatusOf(error) === 409 ? 'conflict' : NOT_HANDLED,
      );
      if (outcome !== 'conflict') {
        return outcome === 'written';
      }
      if (attempt >= S3_CONFLICT_ATTEMPTS) {
        throw new StoreError(
          `putIfAbsent ${key}: ${this.where} answered 409 ConditionalRequestConflict ${attempt} times: ` +
            'other writers keep racing for this key; retry later',
          this.info('putIfAbsent', key),
        );
      }
      await pause(backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS), options?.signal);
    }
  }

  /** Put-if-absent where the endpoint ignores If-None-Match (see the module comment for what it guarantees). */
  private async headThenPut(
    key: string,
    name: string,
    body: Uint8Array,
    options?: StoreCallOptions,
  ): Promise<boolean> {
    const exists = await this.run(
      'putIfAbsent',
      key,
      options,
      (abortSignal) =>
        this.client
          .send(new this.sdk.HeadObjectCommand({ Bucket: this.spec.bucket, Key: name }), { abortSignal })
          .then(() => true),
      (error) => (httpStatusOf(error) === 404 ? false : NOT_HANDLED),
    );
    if (exists) {
      return false;
    }
    await this.run('putIfAbsent', key, options, (abortSignal) =>
      this.client.send(new this.sdk.PutObjectCommand({ ...this.putInput(name, body), IfNoneMatch: '*' }), {
        abortSignal,
      }),
    );
    return true;
  }

  /** Runs `work` after the calls already queued for `name` in this store. */
  private async serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.pending.get(name) ?? Promise.resolve();
    const next = previous.then(work);
    const tail = next.catch(() => undefined);
    this.pending.set(name, tail);
    try {
      return await next;
    } finally {
      if (this.pending.get(name) === tail) {
        this.pending.delete(name);
      }
    }
  }

  private putInput(name: string, body: Uint8Array) {
    return {
      Bucket: this.spec.bucket,
      Key: name,
      Body: body,
      ContentLength: body.byteLength,
      Metadata: { [S3_CHECKSUM_METADATA]: sha256(body) },
    };
  }

  private nameOf(key: string): string {
    return this.spec.prefix + checkKey(key);
  }

  /**
   * One SDK call: refused when closed or aborted; the caller's signal passed
   * on; `handle` turns an expected error into a value (or NOT_HANDLED);
   * other errors become typed store errors.
   */
  private async run<T>(
    operation: string,
    key: string,
    options: StoreCallOptions | undefined,
    work: (abortSignal: AbortSignal | undefined) => Promise<T>,
    handle?: (error: unknown) => T | typeof NOT_HANDLED,
  ): Promise<T> {
    if (this.closed) {
      throw new StoreError(`${this.where}: the store is closed`, this.info(operation, key));
    }
    const signal = options?.signal;
    signal?.throwIfAborted();
    try {
      return await abortable(work(signal), signal);
    } catch (error) {
      if (signal?.aborted) {
        throw signal.reason;
      }
      const value = handle ? handle(error) : NOT_HANDLED;
      if (value !== NOT_HANDLED) {
        return value;
      }
      throw s3Failure(
        { info: this.info(operation, key), where: this.where, timeoutMs: this.spec.timeoutMs },
        error,
      );
    }
  }

  private info(operation: string, key?: string) {
    return { kind: this.kind, location: this.location, operation, key };
  }
}

/**
 * The range asked for, out of what the server sent for it: the range
 * itself, or a larger part that holds it (s3rver sends the whole object for
 * `bytes=0-0`; some servers ignore ranges and send it all, with no
 * Content-Range). Undefined when what was sent does not hold it all.
 */
function askedPart(
  body: Uint8Array,
  contentRange: string | undefined,
  range: { offset: number; length: number },
): Uint8Array | undefined {
  const start = contentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(contentRange)?.[1]);
  const from = range.offset - start;
  return Number.isSafeInteger(from) && from >= 0 && body.byteLength >= from + range.length
    ? body.subarray(from, from + range.length)
    : undefined;
}

async function readBody(response: GetObjectCommandOutput): Promise<Uint8Array> {
  return response.Body === undefined ? new Uint8Array(0) : response.Body.transformToByteArray();
}

function sha256(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

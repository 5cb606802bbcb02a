/**
 * Store URLs: what `%serverless config --store` and `train({ store })` take,
 * parsed into a typed spec. A store URL travels in every invocation request,
 * so it never carries a secret: a Redis password comes from
 * `$SERVERLESS_REDIS_PASSWORD`, S3 credentials from the AWS SDK's default
 * chain, and a URL with credentials in it is refused.
 *
 * Accepted forms (see {@link STORE_URL_FORMS}):
 * - `embedded`: files in the default directory ({@link embeddedStoreDir});
 * - `embedded:/absolute/dir`: files in that directory;
 * - `redis://host[:port][/db][?prefix=P&usdPerHour=N&timeoutMs=N]`;
 * - `s3://bucket[/prefix][?endpoint=http://host:port&region=R&timeoutMs=N]`.
 */
import * as path from 'node:path';

import { embeddedStoreDir, STORE_UNAVAILABLE_ENV } from './embedded-dir';
import { StoreConfigError } from './errors';
import { checkPrefix } from './object-store';

/** The accepted store URL forms, as messages list them. */
export const STORE_URL_FORMS = [
  '`embedded` (the directory $SERVERLESS_STORE, default ~/.local/share/serverless-kernel/store)',
  '`embedded:/absolute/dir`',
  '`redis://host[:port][/db][?prefix=P&usdPerHour=N&timeoutMs=N]` (password in $SERVERLESS_REDIS_PASSWORD)',
  "`s3://bucket[/prefix][?endpoint=http://host:port&region=R&timeoutMs=N]` (credentials from the AWS SDK's default chain)",
] as const;

/** Redis's default port. */
export const REDIS_DEFAULT_PORT = 6379;
/** The namespace a Redis store's keys live under when the URL names none. */
export const REDIS_DEFAULT_PREFIX = 'serverless-kernel:';
/** How long one Redis command may take when the URL does not say (`timeoutMs`). */
export const REDIS_DEFAULT_TIMEOUT_MS = 5_000;
/** How long one S3 request attempt may take when the URL does not say (`timeoutMs`). */
export const S3_DEFAULT_TIMEOUT_MS = 30_000;
/** Bounds of `timeoutMs`. */
export const REQUEST_TIMEOUT_RANGE_MS = { min: 100, max: 600_000 } as const;

/** Files in a directory of this machine. */
export interface EmbeddedStoreSpec {
  kind: 'embedded';
  /** Absolute directory. */
  dir: string;
  /** The canonical URL (`embedded` when the directory is the default one). */
  url: string;
}

/** A Redis server (one database, one key namespace). */
export interface RedisStoreSpec {
  kind: 'redis';
  host: string;
  port: number;
  db: number;
  /** Prepended to every key (a namespace shared by nothing else). */
  prefix: string;
  /** What the Redis node costs per hour, USD (0: not priced). */
  usdPerHour: number;
  /** Bound of one command, ms. */
  timeoutMs: number;
  url: string;
}

/** An S3 bucket (or an S3-compatible endpoint), under a key prefix. */
export interface S3StoreSpec {
  kind: 's3';
  bucket: string;
  /** Prepended to every key: empty, or ends with `/`. */
  prefix: string;
  /** A custom endpoint (`http(s)://host:port`): path-style requests. */
  endpoint?: string;
  region?: string;
  /** Bound of one request attempt, ms. */
  timeoutMs: number;
  url: string;
}

/** A parsed store URL. */
export type StoreSpec = EmbeddedStoreSpec | RedisStoreSpec | S3StoreSpec;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{2,40}$/;
const REDIS_PREFIX = /^[A-Za-z0-9._=:/-]{0,200}$/;

/**
 * Parses a store URL. `env` gives the default embedded directory
 * (`$SERVERLESS_STORE`).
 *
 * @throws StoreConfigError naming what is wrong and listing the accepted forms.
 */
export function parseStoreUrl(url: string, env: NodeJS.ProcessEnv = process.env): StoreSpec {
  if (typeof url !== 'string' || url.trim() === '') {
    throw configError(`a store URL is required, got ${JSON.stringify(url)}`);
  }
  if ((url === 'embedded' || url.startsWith('embedded:')) && env[STORE_UNAVAILABLE_ENV]) {
    throw new StoreConfigError(env[STORE_UNAVAILABLE_ENV]);
  }
  if (url === 'embedded') {
    return { kind: 'embedded', dir: embeddedStoreDir(env), url: 'embedded' };
  }
  if (url.startsWith('embedded:')) {
    return parseEmbedded(url.slice('embedded:'.length));
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis') {
    return parseRedis(url);
  }
  if (scheme === 's3') {
    return parseS3(url);
  }
  throw configError(`${JSON.stringify(redactUrl(url))} is not a store URL`);
}

/**
 * The store a URL names, for messages: kind and place, never a secret (a
 * URL that does not parse is shown with any user info removed).
 */
export function describeStore(url: string, env: NodeJS.ProcessEnv = process.env): string {
  let spec: StoreSpec;
  try {
    spec = parseStoreUrl(url, env);
  } catch {
    return `store ${redactUrl(String(url))}`;
  }
  switch (spec.kind) {
    case 'embedded':
      return `embedded store ${spec.dir}`;
    case 'redis':
      return `Redis store ${spec.host}:${spec.port} db ${spec.db} (keys under ${JSON.stringify(spec.prefix)})`;
    case 's3':
      return `S3 store s3://${spec.bucket}/${spec.prefix}` + (spec.endpoint ? ` at ${spec.endpoint}` : '');
  }
}

function parseEmbedded(dir: string): EmbeddedStoreSpec {
  if (!path.isAbsolute(dir)) {
    throw configError(`embedded:${dir}: the directory must be an absolute path`);
  }
  const resolved = path.resolve(dir);
  return { kind: 'embedded', dir: resolved, url: `embedded:${resolved}` };
}

function parseRedis(given: string): RedisStoreSpec {
  const parsed = parseUrl(given);
  const url = redactUrl(given);
  refuseCredentials(
    parsed,
    url,
    'a Redis password goes in $SERVERLESS_REDIS_PASSWORD (the URL is sent with every invocation)',
  );
  if (parsed.hash) {
    throw configError(`${url}: a store URL has no #fragment`);
  }
  const host = parsed.hostname;
  if (!host) {
    throw configError(`${url}: the Redis host is missing`);
  }
  const port = parsed.port === '' ? REDIS_DEFAULT_PORT : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) {
    throw configError(
      `${url}: the path must be a database number (redis://host:port/0), got ${JSON.stringify(dbText)}`,
    );
  }
  const db = dbText === '' ? 0 : Number(dbText);
  const query = queryOf(parsed, url, ['prefix', 'usdPerHour', 'timeoutMs']);
  const prefix = query.get('prefix') ?? REDIS_DEFAULT_PREFIX;
  if (!REDIS_PREFIX.test(prefix)) {
    throw configError(
      `${url}: prefix must be up to 200 letters, digits and . _ = : / - characters, got ${JSON.stringify(prefix)}`,
    );
  }
  const usdPerHour = numberParam(query, 'usdPerHour', url, 0, 0, 1_000);
  const timeoutMs = timeoutParam(query, url, REDIS_DEFAULT_TIMEOUT_MS);
  const canonical = new URL(`redis://${parsed.host}/${db}`);
  canonical.searchParams.set('prefix', prefix);
  if (usdPerHour > 0) {
    canonical.searchParams.set('usdPerHour', String(usdPerHour));
  }
  if (timeoutMs !== REDIS_DEFAULT_TIMEOUT_MS) {
    canonical.searchParams.set('timeoutMs', String(timeoutMs));
  }
  return {
    kind: 'redis',
    host: stripBrackets(host),
    port,
    db,
    prefix,
    usdPerHour,
    timeoutMs,
    url: canonical.href,
  };
}

function parseS3(given: string): S3StoreSpec {
  const parsed = parseUrl(given);
  const url = redactUrl(given);
  refuseCredentials(
    parsed,
    url,
    "S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID...)",
  );
  if (parsed.hash) {
    throw configError(`${url}: a store URL has no #fragment`);
  }
  if (parsed.port !== '') {
    throw configError(
      `${url}: an s3:// URL names a bucket, not a host: put the server in ?endpoint=http://host:port`,
    );
  }
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket)) {
    throw configError(
      `${url}: ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')`,
    );
  }
  const prefix = parsed.pathname.replace(/^\//, '');
  try {
    checkPrefix(prefix);
  } catch (error) {
    throw configError(`${url}: the key prefix is not valid: ${(error as Error).message}`);
  }
  const query = queryOf(parsed, url, ['endpoint', 'region', 'timeoutMs']);
  const endpoint = endpointParam(query.get('endpoint'), url);
  const region = query.get('region');
  if (region !== undefined && !REGION.test(region)) {
    throw configError(
      `${url}: region must be an AWS region name such as us-east-1, got ${JSON.stringify(region)}`,
    );
  }
  const timeoutMs = timeoutParam(query, url, S3_DEFAULT_TIMEOUT_MS);
  const folder = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const canonical = new URL(`s3://${bucket}/${folder}`);
  if (endpoint !== undefined) {
    canonical.searchParams.set('endpoint', endpoint);
  }
  if (region !== undefined) {
    canonical.searchParams.set('region', region);
  }
  if (timeoutMs !== S3_DEFAULT_TIMEOUT_MS) {
    canonical.searchParams.set('timeoutMs', String(timeoutMs));
  }
  return { kind: 's3', bucket, prefix: folder, endpoint, region, timeoutMs, url: canonical.href };
}

function endpointParam(value: string | undefined, url: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  let endpoint: URL;
  try {
    endpoint = new URL(value);
  } catch {
    throw configError(
      `${url}: endpoint must be a URL such as http://127.0.0.1:4568, got ${JSON.stringify(redactUrl(value))}`,
    );
  }
  if (
    (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') ||
    endpoint.username ||
    endpoint.password ||
    endpoint.pathname !== '/' ||
    endpoint.search ||
    endpoint.hash
  ) {
    throw configError(
      `${url}: endpoint must be http(s)://host[:port] with nothing else (no credentials, path or query), got ` +
        JSON.stringify(redactUrl(value)),
    );
  }
  return endpoint.origin;
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw configError(`${JSON.stringify(redactUrl(url))} is not a valid URL`);
  }
}

function refuseCredentials(parsed: URL, url: string, where: string): void {
  if (parsed.password) {
    throw configError(`${url}: the URL holds a password; ${where}`);
  }
  if (parsed.username) {
    throw configError(`${url}: the URL holds a user name; store URLs carry no credentials (${where})`);
  }
}

function queryOf(parsed: URL, url: string, allowed: readonly string[]): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of parsed.searchParams) {
    if (!allowed.includes(name)) {
      throw configError(
        `${redactUrl(url)}: unknown parameter ${JSON.stringify(name)} (accepted: ${allowed.join(', ')})`,
      );
    }
    if (query.has(name)) {
      throw configError(`${url}: parameter ${JSON.stringify(name)} is given twice`);
    }
    query.set(name, value);
  }
  return query;
}

function numberParam(
  query: Map<string, string>,
  name: string,
  url: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = query.get(name);
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw configError(`${url}: ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function timeoutParam(query: Map<string, string>, url: string, fallback: number): number {
  const { min, max } = REQUEST_TIMEOUT_RANGE_MS;
  const value = numberParam(query, 'timeoutMs', url, fallback, min, max);
  if (!Number.isInteger(value)) {
    throw configError(`${url}: timeoutMs must be a whole number of ms, got ${value}`);
  }
  return value;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * `url` with every `user:password@` removed (its own, and any in a parameter
 * such as `endpoint=`, plain or percent-encoded), for messages.
 */
export function redactUrl(url: string): string {
  return url.replace(/(:\/\/|%3A%2F%2F)[^/?#&\s]*?(@|%40)/gi, '$1***$2');
}

function configError(problem: string): StoreConfigError {
  return new StoreConfigError(`${problem}. Accepted store URLs: ${STORE_URL_FORMS.join('; ')}.`);
}

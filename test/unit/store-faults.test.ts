/**
 * Stores under faults, with real servers: redis-server killed (SIGKILL by
 * PID) or frozen (SIGSTOP) mid-use, no server at the URL, s3rver killed or
 * frozen, and S3 answering `503 SlowDown` (through a proxy). Every call
 * settles with a typed error that says what to do (never hangs), retries
 * are bounded, and a store works again once its server is back.
 */
import { createHash, randomBytes } from 'node:crypto';

import {
  MeteredStore,
  openStore,
  StoreError,
  StoreTimeoutError,
  StoreUnavailableError,
} from '../../kernel-magics/src/exchange/store';
import { S3_MAX_ATTEMPTS } from '../../kernel-magics/src/exchange/store/s3-client';
import { freePort } from '../helpers/processes';
import { FaultProxy, startFaultProxy } from '../helpers/s3-fault-proxy';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';

jest.setTimeout(120_000);

/** Generous bounds: what is asserted is that calls settle, not how fast. */
const SETTLES_WITHIN_MS = 20_000;
const FOUR_MB = 4 * 1024 * 1024;

const opened: MeteredStore[] = [];
const servers: { stop(): Promise<void> }[] = [];

function open(url: string): MeteredStore {
  const store = openStore(url, { env: S3RVER_ENV });
  opened.push(store);
  return store;
}

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await Promise.all(servers.map((server) => server.stop()));
});

/** The call's outcome, or a failure of the test if it has not settled in time. */
async function settled<T>(call: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the call did not settle in ${SETTLES_WITHIN_MS} ms`)),
      SETTLES_WITHIN_MS,
    );
  });
  try {
    const value = await Promise.race([call, hung]);
    return { value, ms: Date.now() - started };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the call did not settle')) {
      throw error;
    }
    return { error, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

const sha = (data: Uint8Array | undefined) =>
  data === undefined ? 'absent' : createHash('sha256').update(data).digest('hex');

describe('Redis under faults', () => {
  it('rejects with StoreUnavailableError when no server listens, naming it and what to do', async () => {
    const port = await freePort();
    const store = open(`redis://127.0.0.1:${port}/0?prefix=nobody:`);
    const { error } = await settled(store.get('k'));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).toMatch(/Start redis-server/);
    expect(message).toContain('%serverless config --store');
    expect((error as StoreError).operation).toBe('get');
  });

  it('fails calls at once when redis-server is killed mid-use, shows nothing half-written, and reconnects', async () => {
    let server: RedisServer = await startRedis();
    servers.push(server);
    const port = server.port;
    const store = open(server.url('faults:'));
    const body = randomBytes(FOUR_MB);
    await store.put('before', body);

    // Writes in flight while the server dies.
    let writing = true;
    const writes: Promise<unknown>[] = [];
    const writer = (async () => {
      for (let i = 0; writing; i += 1) {
        const write = store.put(`inflight/${i % 4}`, body);
        writes.push(write.catch((error: unknown) => error));
        await write.catch(() => undefined);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.kill();
    writing = false;
    await writer;
    const outcomes = await Promise.all(writes);
    const failed = outcomes.filter((outcome) => outcome instanceof Error);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const error of failed) {
      expect(error).toBeInstanceOf(StoreUnavailableError);
    }

    const next = await settled(store.get('before'));
    expect(next.error).toBeInstanceOf(StoreUnavailableError);
    expect((next.error as Error).message).toContain(`127.0.0.1:${port}`);
    const again = await settled(store.put('during', body));
    expect(again.error).toBeInstanceOf(StoreUnavailableError);

    // A new server on the same port (empty: no persistence); the same store instance reconnects.
    server = await startRedis({ port });
    servers.push(server);
    for (let i = 0; i < 4; i += 1) {
      const read = await settled(store.get(`inflight/${i}`));
      expect(read.error).toBeUndefined();
      expect(['absent', sha(body)]).toContain(sha(read.value));
    }
    expect(await store.get('during')).toBeUndefined();
    await store.put('after', body);
    expect(sha(await store.get('after'))).toBe(sha(body));
    expect(await store.list('')).toEqual(['after']);
  });

  it('times out a call to a frozen server (SIGSTOP) with StoreTimeoutError, then works when it resumes', async () => {
    const server = await startRedis();
    servers.push(server);
    const store = open(`${server.url('frozen:')}&timeoutMs=500`);
    await store.put('k', new Uint8Array([1, 2, 3]));
    process.kill(server.pid, 'SIGSTOP');
    try {
      const { error } = await settled(store.get('k'));
      expect(error).toBeInstanceOf(StoreTimeoutError);
      expect((error as Error).message).toMatch(/no reply within 500 ms/);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    expect(Array.from((await store.get('k'))!)).toEqual([1, 2, 3]);
  });
});

describe('S3 under faults', () => {
  let s3rver: S3rverServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    s3rver = await startS3rver();
    servers.push(s3rver);
    proxy = await startFaultProxy(s3rver.port);
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it(`retries 503 SlowDown and succeeds when fewer than ${S3_MAX_ATTEMPTS} attempts fail`, async () => {
    const store = open(s3rver.url('slowdown', proxy.endpoint));
    const body = randomBytes(FOUR_MB);
    const failures = S3_MAX_ATTEMPTS - 1;

    let before = proxy.requests;
    proxy.slowDown(failures);
    await store.put('k', body);
    expect(proxy.requests - before).toBe(failures + 1);

    before = proxy.requests;
    proxy.slowDown(failures);
    expect(sha(await store.get('k'))).toBe(sha(body));
    expect(proxy.requests - before).toBe(failures + 1);

    before = proxy.requests;
    proxy.slowDown(failures);
    expect(sha(await store.getRange?.('k', 1000, 5000))).toBe(sha(body.subarray(1000, 6000)));
    expect(proxy.requests - before).toBe(failures + 1);

    before = proxy.requests;
    proxy.slowDown(1);
    expect(await store.list('')).toEqual(['k']);
    expect(proxy.requests - before).toBe(2);
    expect(proxy.slowDowns).toBe(3 * failures + 1);
    expect(store.usage().requests).toEqual({ put: 1, get: 2, list: 1, delete: 0 });
  });

  it(`fails with a clear StoreError after ${S3_MAX_ATTEMPTS} attempts when every answer is 503`, async () => {
    const store = open(s3rver.url('slowdown', proxy.endpoint));
    const before = proxy.requests;
    proxy.slowDown('always');
    try {
      const { error } = await settled(store.put('never', new Uint8Array(10)));
      expect(error).toBeInstanceOf(StoreError);
      const message = (error as Error).message;
      expect(message).toContain(`503 SlowDown after ${S3_MAX_ATTEMPTS} attempts`);
      expect(message).toContain('put never');
      expect(message).toMatch(/request rate/);
      expect(proxy.requests - before).toBe(S3_MAX_ATTEMPTS);
    } finally {
      proxy.slowDown(0);
    }
    expect(await store.get('never')).toBeUndefined();
  });

  it('times out a frozen server (SIGSTOP) with StoreTimeoutError after bounded attempts', async () => {
    const store = open(`${s3rver.url('frozen')}&timeoutMs=300`);
    await store.put('k', new Uint8Array(1));
    process.kill(s3rver.pid, 'SIGSTOP');
    try {
      const { error } = await settled(store.get('k'));
      expect(error).toBeInstanceOf(StoreTimeoutError);
      expect((error as Error).message).toMatch(/did not answer within 300 ms/);
    } finally {
      process.kill(s3rver.pid, 'SIGCONT');
    }
    expect((await store.get('k'))?.byteLength).toBe(1);
  });

  it('rejects with StoreUnavailableError once s3rver is killed, naming the endpoint', async () => {
    const doomed = await startS3rver();
    servers.push(doomed);
    const store = open(doomed.url('gone'));
    await store.put('k', new Uint8Array(1));
    await doomed.kill();
    const { error } = await settled(store.get('k'));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(doomed.endpoint);
    expect(message).toContain('ECONNREFUSED');
    expect(message).toContain('%serverless config --store');
  });
});

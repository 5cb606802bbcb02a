/**
 * The runner events of the Lambda backend (runtime/lambda/event.ts), built
 * for real compiled bodies against a real S3 (s3rver): parts inline while
 * the request fits Lambda's payload limit, else in the payload bucket
 * (largest first); a run's captures uploaded once however many invocations
 * and attempts use them, an element per attempt; a forgotten run uploads
 * again. Requests to the bucket are counted by the process's shared
 * (metered) store, the one the builder writes through.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { MeteredStore } from '../../kernel-magics/src/exchange/store';
import { closeSharedStores, sharedStore } from '../../kernel-magics/src/exchange/store/shared';
import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import {
  ENVELOPE_RESERVE_BYTES,
  LAMBDA_LIMITS,
  LambdaSettings,
  PROGRAM_PREFIX,
  SPILL_PREFIX,
} from '../../kernel-magics/src/runtime/lambda/config';
import { EventBuilder } from '../../kernel-magics/src/runtime/lambda/event';
import { payloadStoreUrl, readPayload } from '../../kernel-magics/src/runtime/lambda/payload';
import type { Payload, StoredRef } from '../../kernel-magics/src/runtime/lambda/protocol';
import { cellRequest, patternBytes, s3rverSettings } from '../helpers/lambda-requests';
import { S3rverServer, S3RVER_ENV, startS3rver } from '../helpers/stores';

jest.setTimeout(60_000);

const MB = 1024 * 1024;
const savedEnv = Object.fromEntries(Object.keys(S3RVER_ENV).map((name) => [name, process.env[name]]));

let s3rver: S3rverServer;
let settings: LambdaSettings;
let storeUrl: string;
let bucket: MeteredStore;
const never = new AbortController().signal;

beforeAll(async () => {
  s3rver = await startS3rver();
  // The payload store takes its credentials from the AWS SDK's default chain, as the kernel's does.
  Object.assign(process.env, S3RVER_ENV);
  settings = s3rverSettings(s3rver.endpoint);
  storeUrl = payloadStoreUrl(settings.bucket, settings.region, settings.s3Endpoint);
  bucket = sharedStore(storeUrl);
});

afterAll(async () => {
  await closeSharedStores();
  await s3rver?.stop();
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = value;
    }
  }
});

beforeEach(() => {
  bucket.reset();
});

/** Puts to the payload bucket since the test began (or since the last call). */
const puts = (): number => bucket.take().requests.put;

/** The stored ref of a payload that must be stored. */
function storedRef(payload: Payload | undefined): StoredRef {
  if (payload === undefined || !('stored' in payload)) {
    throw new Error(`expected a stored payload, got ${JSON.stringify(payload)?.slice(0, 80)}`);
  }
  return payload.stored;
}

/** A request whose captures (a typed array of `bytes` bytes) are shared by the run. */
function withCaptures(
  bytes: number,
  parts: Partial<Parameters<typeof cellRequest>[1]> = {},
): InvocationRequest {
  return cellRequest('big.length + extra', { captures: { big: patternBytes(bytes), extra: 1 }, ...parts });
}

describe('EventBuilder', () => {
  it('sends small parts inline, stores nothing, and says where a large response goes', async () => {
    const request = cellRequest('n * factor', {
      captures: { factor: 3 },
      element: { name: 'n', value: 14 },
      index: 2,
    });
    const built = await new EventBuilder().build(request, 1, settings, never);
    const { event } = built;
    expect(event).toMatchObject({
      protocol: 1,
      id: request.id,
      runId: request.runId,
      index: 2,
      attempt: 1,
      memoryMb: 512,
      timeoutS: 30,
      program: { hash: request.program.hash, filename: request.program.filename },
      captures: { hash: request.captures.hash },
    });
    expect(Buffer.from(await readPayload(event.program.source)).toString('utf8')).toBe(
      request.program.source,
    );
    expect(event.captures.bytes).toEqual({ b64: Buffer.from(request.captures.bytes).toString('base64') });
    expect(event.element).toEqual({ b64: Buffer.from(request.element ?? []).toString('base64') });
    expect(event.spill).toEqual({ store: storeUrl, key: `${SPILL_PREFIX}${request.runId}/${request.id}-a1` });
    expect(built.attemptKeys).toEqual([]);
    expect(built.bytes).toBe(Buffer.byteLength(JSON.stringify(event)));
    expect(puts()).toBe(0);
  });

  it('stores captures of 7 MB in the bucket and keeps the event under the payload limit', async () => {
    const request = withCaptures(7 * MB);
    const built = await new EventBuilder().build(request, 1, settings, never);
    const ref = storedRef(built.event.captures.bytes);
    expect(ref).toEqual({
      store: storeUrl,
      key: `${SPILL_PREFIX}${request.runId}/captures-${request.captures.hash}`,
    });
    expect(Buffer.from(await readPayload(built.event.captures.bytes)).equals(request.captures.bytes)).toBe(
      true,
    );
    // The rest stays inline.
    expect('b64' in built.event.program.source).toBe(true);
    expect(built.bytes).toBe(Buffer.byteLength(JSON.stringify(built.event)));
    expect(built.bytes).toBeLessThanOrEqual(LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES);
    // Shared by the run's invocations: not an attempt's to delete.
    expect(built.attemptKeys).toEqual([]);
    expect(puts()).toBe(1);
  });

  it("uploads a run's captures once for all its invocations and attempts, built at once or later", async () => {
    const builder = new EventBuilder();
    const runId = 'run-shared';
    const requests = Array.from({ length: 6 }, (_, index) =>
      withCaptures(7 * MB, { runId, index, id: `inv-${index}` }),
    );
    const first = await Promise.all(requests.map((request) => builder.build(request, 1, settings, never)));
    const again = await builder.build(requests[3], 2, settings, never);
    const refs = [...first, again].map((built) => storedRef(built.event.captures.bytes));
    expect(new Set(refs.map((ref) => ref.key)).size).toBe(1);
    expect(puts()).toBe(1);
    expect(await bucket.list(`${SPILL_PREFIX}${runId}/`)).toEqual([refs[0].key]);
  });

  it('stores an element per attempt, under a key of that attempt, listed for deletion', async () => {
    const builder = new EventBuilder();
    const request = cellRequest('x.length', { element: { name: 'x', value: patternBytes(7 * MB) } });
    const one = await builder.build(request, 1, settings, never);
    const two = await builder.build(request, 2, settings, never);
    const base = `${SPILL_PREFIX}${request.runId}/${request.id}`;
    expect(storedRef(one.event.element).key).toBe(`${base}-a1.element`);
    expect(storedRef(two.event.element).key).toBe(`${base}-a2.element`);
    expect(one.attemptKeys).toEqual([`${base}-a1.element`]);
    expect(two.attemptKeys).toEqual([`${base}-a2.element`]);
    expect(puts()).toBe(2);
    const stored = await bucket.get(`${base}-a2.element`);
    expect(Buffer.from(stored ?? []).equals(Buffer.from(request.element ?? []))).toBe(true);
    // The small captures stay inline.
    expect('b64' in one.event.captures.bytes).toBe(true);
  });

  it('stores the largest part first, and only as many parts as it takes to fit', async () => {
    const builder = new EventBuilder();
    // 5 MB of captures alone pass the limit as base64; with them stored, a 3 MB element fits.
    const fits = cellRequest('big.length + x.length', {
      captures: { big: patternBytes(5 * MB) },
      element: { name: 'x', value: patternBytes(3 * MB) },
    });
    const one = await builder.build(fits, 1, settings, never);
    storedRef(one.event.captures.bytes);
    expect('b64' in (one.event.element ?? {})).toBe(true);
    expect(one.attemptKeys).toEqual([]);
    expect(one.bytes).toBeLessThanOrEqual(LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES);
    // Larger element than captures: the element goes, the captures stay.
    const flipped = cellRequest('big.length + x.length', {
      captures: { big: patternBytes(3 * MB) },
      element: { name: 'x', value: patternBytes(5 * MB) },
    });
    const two = await builder.build(flipped, 1, settings, never);
    expect('b64' in two.event.captures.bytes).toBe(true);
    expect(two.attemptKeys).toEqual([storedRef(two.event.element).key]);
    // Two parts of 5 MB, each over the limit alone: both go.
    const both = cellRequest('big.length + x.length', {
      captures: { big: patternBytes(5 * MB) },
      element: { name: 'x', value: patternBytes(5 * MB) },
    });
    const three = await builder.build(both, 1, settings, never);
    storedRef(three.event.captures.bytes);
    storedRef(three.event.element);
    expect(three.bytes).toBeLessThanOrEqual(LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES);
    expect(puts()).toBe(4);
  });

  it('uploads the captures again after forgetRun (the run ended and its objects were deleted)', async () => {
    const builder = new EventBuilder();
    const runId = 'run-forgotten';
    const request = withCaptures(7 * MB, { runId });
    await builder.build(request, 1, settings, never);
    await builder.build(request, 2, settings, never);
    expect(puts()).toBe(1);
    await bucket.deletePrefix(`${SPILL_PREFIX}${runId}/`);
    builder.forgetRun(storeUrl, runId);
    const after = await builder.build(request, 3, settings, never);
    expect(puts()).toBe(1);
    expect(await bucket.get(storedRef(after.event.captures.bytes).key)).toBeDefined();
    // Forgetting another run (or another store) forgets nothing of this one.
    builder.forgetRun(storeUrl, 'run-other');
    builder.forgetRun(payloadStoreUrl('another-bucket', 'us-east-1', s3rver.endpoint), runId);
    await builder.build(request, 4, settings, never);
    expect(puts()).toBe(0);
  });

  it('lets the other invocations of a run have the shared captures when one attempt gives up', async () => {
    const builder = new EventBuilder();
    const runId = 'run-one-gives-up';
    const leaving = new AbortController();
    const gone = builder.build(withCaptures(7 * MB, { runId, index: 0 }), 1, settings, leaving.signal);
    const staying = builder.build(withCaptures(7 * MB, { runId, index: 1 }), 1, settings, never);
    leaving.abort(new Error('replaced'));
    await expect(gone).rejects.toThrow('replaced');
    const built = await staying;
    expect(await bucket.get(storedRef(built.event.captures.bytes).key)).toBeDefined();
    expect(puts()).toBe(1);
  });

  it('abandons a shared upload every waiter gave up, and uploads again for the next attempt', async () => {
    const builder = new EventBuilder();
    const runId = 'run-all-give-up';
    const leaving = new AbortController();
    const gone = builder.build(withCaptures(7 * MB, { runId }), 1, settings, leaving.signal);
    leaving.abort(new Error('interrupted'));
    await expect(gone).rejects.toThrow('interrupted');
    const built = await builder.build(withCaptures(7 * MB, { runId }), 2, settings, never);
    expect(await bucket.get(storedRef(built.event.captures.bytes).key)).toBeDefined();
    expect(puts()).toBe(1);
  });

  it("keeps each run's captures apart, even when they are the same bytes", async () => {
    const builder = new EventBuilder();
    const a = await builder.build(withCaptures(7 * MB, { runId: 'run-a' }), 1, settings, never);
    const b = await builder.build(withCaptures(7 * MB, { runId: 'run-b' }), 1, settings, never);
    expect(storedRef(a.event.captures.bytes).key).toContain('/run-a/');
    expect(storedRef(b.event.captures.bytes).key).toContain('/run-b/');
    expect(puts()).toBe(2);
  });

  it("sends the program with the notebook's imports bundled into it", async () => {
    const notebook = mkdtempSync(path.join(os.tmpdir(), 'lambda-event-'));
    try {
      writeFileSync(path.join(notebook, 'answer.js'), 'exports.answer = 42;\n');
      const request = cellRequest("import { answer } from './answer';\nanswer", { cwd: notebook });
      const { event } = await new EventBuilder().build(request, 1, settings, never);
      const source = Buffer.from(await readPayload(event.program.source)).toString('utf8');
      expect(source.startsWith('((__serverless_program__')).toBe(true);
      expect(source).toContain('answer = 42');
      expect(event.program.hash).not.toBe(request.program.hash);
      expect(event.program.filename).toBe(request.program.filename);
      // Not under the per-run prefix, so not deleted with a run: stored by hash, when stored at all.
      expect(PROGRAM_PREFIX.startsWith(SPILL_PREFIX)).toBe(false);
    } finally {
      rmSync(notebook, { recursive: true, force: true });
    }
  });
});

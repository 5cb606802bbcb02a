/**
 * What the Lambda backend leaves in the payload bucket: a run's prefix is
 * cleared when the run may have put something there (captures over the
 * invoke limit, a spilled answer, an attempt given up while the function
 * went on), and not even listed when every payload travelled inline (a LIST
 * is a billed request, and would be one per cell run). The bucket is a real
 * s3rver behind a proxy that counts the SDK's calls; the function is a small
 * loopback server answering Lambda's Invoke as the runner does.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serialize } from 'node:v8';

import { MeteredStore, openStore } from '../../kernel-magics/src/exchange/store';
import { closeSharedStores } from '../../kernel-magics/src/exchange/store/shared';
import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import { LambdaBackend } from '../../kernel-magics/src/runtime/lambda';
import { LambdaSettings, SPILL_PREFIX } from '../../kernel-magics/src/runtime/lambda/config';
import { payloadStoreUrl } from '../../kernel-magics/src/runtime/lambda/payload';
import {
  RUNNER_PROTOCOL,
  RunnerEvent,
  RunnerResponse,
} from '../../kernel-magics/src/runtime/lambda/protocol';
import { FaultProxy, startFaultProxy } from '../helpers/s3-fault-proxy';
import { S3rverServer, S3RVER_ENV, startS3rver, TEST_BUCKET } from '../helpers/stores';

jest.setTimeout(60_000);

/** How long a cleared prefix may take to be empty (the backend deletes it in the background). */
const CLEARED_WITHIN_MS = 15_000;
/** Over Lambda's 6 MB invoke limit: such captures go through the bucket. */
const OVER_LIMIT = 7 * 1024 * 1024;

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What the function does with the next events. */
type Behaviour = 'answer' | 'spill' | 'store-and-stall';

let s3rver: S3rverServer;
let proxy: FaultProxy;
let bucket: MeteredStore;
let lambda: http.Server;
let backend: LambdaBackend;
let behaviour: Behaviour = 'answer';
let stalled: (() => void) | undefined;
const savedEnv = { ...process.env };

/** The runner's answer: the program's value 1, no output. */
function response(): RunnerResponse {
  const result = serialize({ hasValue: true, value: 1, exports: {} });
  return {
    protocol: RUNNER_PROTOCOL,
    outcome: { status: 'ok', result: { b64: result.toString('base64') } },
    output: [],
    droppedOutputBytes: 0,
    payloadRequests: { put: 0, get: 0, list: 0, delete: 0 },
    lateErrors: [],
    figures: { environmentId: 'lambda-test', cold: false, initMs: 0, durationMs: 1 },
  };
}

/** Answers an Invoke as the runner would, per `behaviour`. */
async function invoked(event: RunnerEvent, res: http.ServerResponse): Promise<void> {
  if (behaviour === 'spill') {
    const key = `${event.spill.key}.response`;
    await bucket.put(key, Buffer.from(JSON.stringify(response())));
    res.end(JSON.stringify({ protocol: RUNNER_PROTOCOL, spilled: { store: event.spill.store, key } }));
  } else if (behaviour === 'store-and-stall') {
    // A runner that stored its result and has not answered yet when the kernel gives the attempt up.
    await bucket.put(`${event.spill.key}.result`, Buffer.from('result'));
    stalled?.();
  } else {
    res.end(JSON.stringify(response()));
  }
}

function request(runId: string, captures: Uint8Array): InvocationRequest {
  const source = '(async () => ({ hasValue: true, value: 1, exports: {} }))';
  const bytes = serialize({ captures });
  return {
    id: `${runId}-inv`,
    runId,
    program: { hash: sha256(source), source, filename: 'serverless-cell-1' },
    captures: { hash: sha256(bytes), bytes },
    memoryMb: 256,
    timeoutS: 30,
    retries: 0,
    cwd: __dirname,
  };
}

const prefixOf = (runId: string): string => `${SPILL_PREFIX}${runId}/`;

/** The keys under a run's prefix once it is empty, or what is left after CLEARED_WITHIN_MS. */
async function leftUnder(runId: string): Promise<string[]> {
  const deadline = Date.now() + CLEARED_WITHIN_MS;
  for (;;) {
    const keys = await bucket.list(prefixOf(runId));
    if (keys.length === 0 || Date.now() > deadline) {
      return keys;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lists = (): number => proxy.operations.LIST ?? 0;

beforeAll(async () => {
  s3rver = await startS3rver();
  proxy = await startFaultProxy(s3rver.port);
  // The backend's clients take their credentials from the SDK's default chain, as in a kernel.
  Object.assign(process.env, S3RVER_ENV);
  // The test's own look at the bucket goes around the proxy, which counts the backend's calls alone.
  bucket = openStore(payloadStoreUrl(TEST_BUCKET, 'us-east-1', s3rver.endpoint), { env: S3RVER_ENV });
  lambda = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunnerEvent;
      invoked(event, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  const settings: LambdaSettings = {
    region: 'us-east-1',
    functionName: 'runner',
    bucket: TEST_BUCKET,
    endpoint: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
    s3Endpoint: proxy.endpoint,
    arch: 'x86_64',
    // The server above answers the synchronous Invoke only.
    stream: 'off',
  };
  backend = new LambdaBackend({ settings: () => settings });
});

afterAll(async () => {
  await backend?.dispose();
  lambda?.closeAllConnections();
  await new Promise((resolve) => lambda?.close(resolve));
  await closeSharedStores();
  await bucket?.close();
  await proxy?.close();
  await s3rver?.stop();
  process.env = savedEnv;
});

const never = new AbortController().signal;

describe('the payload bucket after a run', () => {
  it('is cleared of captures that went through it', async () => {
    behaviour = 'answer';
    const result = await backend.invoke(request('run-big-captures', new Uint8Array(OVER_LIMIT)), {}, never);
    expect(result.outcome.status).toBe('ok');
    expect(result.attempts[0].bytesIn).toBeLessThan(OVER_LIMIT);
    expect(await leftUnder('run-big-captures')).toEqual([]);
  });

  it('is cleared of what a function stored for an attempt the kernel gave up', async () => {
    behaviour = 'store-and-stall';
    const stop = new AbortController();
    const storedIt = new Promise<void>((resolve) => (stalled = resolve));
    const running = backend.invoke(request('run-given-up', new Uint8Array(16)), {}, stop.signal);
    await storedIt;
    stop.abort();
    expect((await running).outcome.status).toBe('cancelled');
    expect(await leftUnder('run-given-up')).toEqual([]);
  });

  it('is not listed after a run whose payloads all travelled inline, and is after one whose answer it held', async () => {
    const before = lists();
    behaviour = 'answer';
    const inline = await backend.invoke(request('run-inline', new Uint8Array(1024)), {}, never);
    expect(inline.outcome.status).toBe('ok');
    // A later run that does clear its prefix: by the time it is cleared, an earlier LIST would have been counted.
    behaviour = 'spill';
    const spilled = await backend.invoke(request('run-spilled', new Uint8Array(1024)), {}, never);
    expect(spilled.outcome.status).toBe('ok');
    expect(await leftUnder('run-spilled')).toEqual([]);
    const deadline = Date.now() + CLEARED_WITHIN_MS;
    while (lists() === before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(lists() - before).toBe(1);
  });
});

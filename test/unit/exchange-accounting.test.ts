/**
 * What the kernel's accounting does with a run's exchange: each worker round
 * becomes `exchange-round` telemetry with its requests priced at the store's
 * prices into the run's storage cost (S3 per request, exact in pico-dollars),
 * and a Redis node's hourly price is billed for the run's time.
 */
import { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import { KernelAccounting } from '../../kernel-magics/src/run/accounting';
import type { WorkerRound } from '../../kernel-magics/src/run/exchange-events';
import type { RunPlan } from '../../kernel-magics/src/plan/plan';
import { TelemetryHub } from '../../kernel-magics/src/telemetry';
import type { TelemetryEvent } from '../../kernel-magics/src/telemetry';

function plan(runId: string, store?: string): RunPlan {
  return {
    runId,
    label: '%%serverless',
    options: { store, memoryMb: 1024, timeoutS: 60, concurrency: 4 },
    compiled: { program: { hash: 'h' } },
    requests: [],
  } as unknown as RunPlan;
}

const round = (store: string, requests: WorkerRound['requests']): WorkerRound => ({
  exchange: 'grads',
  round: 0,
  workerId: 'worker:1',
  rank: 1,
  workers: 4,
  strategy: 'allreduce',
  codec: 'none',
  store,
  bytesUp: 400,
  bytesDown: 400,
  rawBytes: 800,
  requests,
  durationMs: 3,
  links: [{ node: 'worker:0', bytesUp: 400, bytesDown: 400 }],
});

function accounting() {
  const hub = new TelemetryHub({ validate: true });
  const events: TelemetryEvent[] = [];
  const accounts = new KernelAccounting(hub);
  const original = hub.emit.bind(hub);
  hub.emit = (input) => {
    const event = original(input);
    events.push(event);
    return event;
  };
  return { accounts, events, hub };
}

const ending = {
  counts: { done: 4, failed: 0, cancelled: 0, running: 0 },
  cancelled: false,
  budgetStopped: false,
};

describe('exchange accounting', () => {
  it('prices S3 requests into the run: 1,000 PUT+LIST at $0.005, 10,000 GET at $0.004 (DELETE free)', () => {
    const { accounts, events, hub } = accounting();
    const p = plan('run-s3', 's3://bucket/x');
    accounts.runStarted(p, 4, { costUsd: 0 } as never);
    accounts.exchangeRound(
      p,
      {} as InvocationRequest,
      round('s3', { put: 600, get: 10_000, list: 400, delete: 50 }),
    );
    accounts.runFinished(p, { ...ending, durationMs: 1000, usedStore: true });
    const sent = events.find((e) => e.type === 'exchange-round');
    expect(sent).toMatchObject({
      runId: 'run-s3',
      workerId: 'worker:1',
      requests: 11_050,
      storageUsd: 0.009,
    });
    expect(accounts.ledger.runSplit('run-s3').storageUsd).toBe(0.009);
    hub.dispose();
  });

  it("bills a body's model-store requests to its run at the store's prices", () => {
    const { accounts, hub } = accounting();
    const p = plan('run-models', 's3://bucket/x');
    accounts.runStarted(p, 1, { costUsd: 0 } as never);
    accounts.storeRequests(p, 's3', { put: 1000, get: 0, list: 0, delete: 7 });
    accounts.storeRequests(p, 'embedded', { put: 1000, get: 0, list: 0, delete: 0 });
    expect(accounts.ledger.runSplit('run-models').storageUsd).toBe(0.005);
    hub.dispose();
  });

  it('bills nothing per request on Redis and the embedded store; a Redis node its hourly price for the run', () => {
    const { accounts, hub } = accounting();
    const redis = plan('run-redis', 'redis://127.0.0.1:6379/0?usdPerHour=0.036');
    accounts.runStarted(redis, 4, { costUsd: 0 } as never);
    accounts.exchangeRound(
      redis,
      {} as InvocationRequest,
      round('redis', { put: 600, get: 10_000, list: 400, delete: 0 }),
    );
    accounts.runFinished(redis, { ...ending, durationMs: 10_000, usedStore: true });
    // $0.036 per hour for 10 s.
    expect(accounts.ledger.runSplit('run-redis').storageUsd).toBe(0.0001);
    const embedded = plan('run-embedded');
    accounts.runStarted(embedded, 4, { costUsd: 0 } as never);
    accounts.exchangeRound(
      embedded,
      {} as InvocationRequest,
      round('embedded', { put: 600, get: 10_000, list: 400, delete: 0 }),
    );
    accounts.runFinished(embedded, { ...ending, durationMs: 10_000, usedStore: true });
    expect(accounts.ledger.runSplit('run-embedded').storageUsd).toBe(0);
    // A run that did not exchange pays nothing for the node.
    const idle = plan('run-idle', 'redis://127.0.0.1:6379/0?usdPerHour=0.036');
    accounts.runStarted(idle, 1, { costUsd: 0 } as never);
    accounts.runFinished(idle, { ...ending, durationMs: 10_000, usedStore: false });
    expect(accounts.ledger.runSplit('run-idle').storageUsd).toBe(0);
    hub.dispose();
  });
});

/**
 * A round moves the same bytes whatever the store: each strategy, 8 workers
 * each with a store instance of its own (as separate processes have), over
 * the embedded store, a real redis-server and a real s3rver. s3rver ignores
 * `If-None-Match`, so its put-if-absent is not atomic between instances:
 * nothing in a round may depend on it being so to keep its traffic down
 * (a reduction done twice moves a shard's contributions twice).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { exchange } from '../../kernel-magics/src/exchange';
import { openStore } from '../../kernel-magics/src/exchange/store';
import type { MeteredStore } from '../../kernel-magics/src/exchange/store';
import { ExchangeStrategy } from '../../kernel-magics/src/telemetry/protocol/events';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';
import { allWorkers, referenceMean, sameBits, step, vectorOf } from './exchange-fixtures';

const WORKERS = 8;
/** Divisible by the workers and by the parameter server's 4 shards, so every shard is the same size. */
const N = 8_000;
const ROUNDS = 3;
const FLOAT_BYTES = 4;

/**
 * Bytes every worker together moves in one round with codec none, from each
 * strategy's plan: all-reduce sends W - 1 vectors to the leader, which reads
 * them, writes the mean once, and W - 1 workers read it; scatter-reduce
 * moves the same amount in shards; the parameter server writes and reads
 * every worker's vector, and each shard's reducer reads the W - 1 parts it
 * did not send and writes the shard's mean once.
 */
const EXPECTED_VECTORS: Record<ExchangeStrategy, number> = {
  allreduce: 3 * (WORKERS - 1) + 1,
  'scatter-reduce': 3 * (WORKERS - 1) + 1,
  'parameter-server': 2 * WORKERS + (WORKERS - 1) + 1,
};

/**
 * Objects every worker together writes in one round: all-reduce's W - 1
 * vectors and one mean; scatter-reduce's W packed contributions (each read
 * by range) and W shard means; the parameter server's W packed pushes (each
 * read by range, synchronous rounds) and 4 means (its owners reduce, so no
 * claims).
 */
const EXPECTED_PUTS: Record<ExchangeStrategy, number> = {
  allreduce: WORKERS,
  'scatter-reduce': 2 * WORKERS,
  'parameter-server': WORKERS + 4,
};

/** What stays in the store once the exchange is closed: each round's means, nothing else. */
const MEANS_LEFT: Record<ExchangeStrategy, RegExp> = {
  allreduce: /^ar\/\d+\/mean$/,
  'scatter-reduce': /^sr\/\d+\/mean\/\d+$/,
  'parameter-server': /^ps\/\d+\/\d+\/mean$/,
};

let tmp: string;
let redis: RedisServer;
let s3rver: S3rverServer;
const opened: MeteredStore[] = [];
let runs = 0;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'exchange-stores-'));
  [redis, s3rver] = await Promise.all([startRedis(), startS3rver()]);
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await Promise.all([redis?.stop(), s3rver?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const stores: Array<[string, () => string, NodeJS.ProcessEnv | undefined]> = [
  ['embedded', () => `embedded:${tmp}`, undefined],
  ['redis', () => redis.url('bytes:'), undefined],
  ['s3 (s3rver)', () => s3rver.url('bytes'), S3RVER_ENV],
];

/** Runs the rounds with a store instance per worker; resolves to the bytes moved per round (all workers) and the means. */
async function bytesPerRound(
  url: string,
  env: NodeJS.ProcessEnv | undefined,
  strategy: ExchangeStrategy,
): Promise<{ bytes: number[]; puts: number[]; left: string[]; means: Float32Array[][] }> {
  runs += 1;
  const run = `bytes-${runs}`;
  const bytes = Array.from({ length: ROUNDS }, () => 0);
  const puts = Array.from({ length: ROUNDS }, () => 0);
  const means = await allWorkers(WORKERS, async (rank) => {
    const store = openStore(url, { env });
    opened.push(store);
    const ex = await exchange.open({
      run,
      rank,
      workers: WORKERS,
      strategy,
      store,
      cellRunId: 'test-run',
      onEvent: (type, data) => {
        if (type === 'exchange-round') {
          bytes[data.round as number] += (data.bytesUp as number) + (data.bytesDown as number);
          puts[data.round as number] += (data.requests as { put: number }).put;
        }
      },
    });
    const got: Float32Array[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      got.push(await step(ex, strategy, vectorOf(N, rank, round, 5), round));
    }
    await ex.close();
    return got;
  });
  const store = openStore(url, { env });
  opened.push(store);
  const base = `exchange/test-run/${run}/`;
  const left = (await store.list(base)).map((key) => key.slice(base.length));
  return { bytes, puts, left, means };
}

describe.each<ExchangeStrategy>(['allreduce', 'scatter-reduce', 'parameter-server'])('%s', (strategy) => {
  test.each(stores)(
    '%s: every round moves the bytes and writes the objects of its plan, exactly; only the means stay',
    async (_, url, env) => {
      const { bytes, puts, left, means } = await bytesPerRound(url(), env, strategy);
      expect(bytes).toEqual(
        Array.from({ length: ROUNDS }, () => EXPECTED_VECTORS[strategy] * N * FLOAT_BYTES),
      );
      expect(puts).toEqual(Array.from({ length: ROUNDS }, () => EXPECTED_PUTS[strategy]));
      expect(left.filter((key) => !MEANS_LEFT[strategy].test(key))).toEqual([]);
      expect(left).toHaveLength(
        (strategy === 'allreduce' ? 1 : strategy === 'scatter-reduce' ? WORKERS : 4) * ROUNDS,
      );
      for (let round = 0; round < ROUNDS; round += 1) {
        const expected = referenceMean(
          Array.from({ length: WORKERS }, (_, rank) => vectorOf(N, rank, round, 5)),
        );
        for (let rank = 0; rank < WORKERS; rank += 1) {
          expect(sameBits(means[rank][round], expected)).toBe(true);
        }
      }
    },
  );
});

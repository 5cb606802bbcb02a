/**
 * Faults of a gradient exchange as a notebook meets them, through a real
 * jupyter_server and kernel on the embedded runtime: a worker killed in the
 * middle of a round is retried and the round is applied once (every mean
 * exact); a straggler is replaced once others have waited `stragglerS`, and
 * the run ends well before its round deadline; redis-server killed during a
 * run ends the cell with a clear error within the round deadline, and the
 * same cell works again once a redis-server is back on the port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KernelMessage } from '@jupyterlab/services';

import { execute, ExecutionRecord, resultText, useServerKernel } from '../helpers/kernel-session';
import { RedisServer, startRedis } from '../helpers/stores';

const storeDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-exchange-faults-'));
// Read by the kernel jupyter_server starts (and so by its environments): a store of this test's own.
process.env.SERVERLESS_STORE = storeDir;
let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
const fixture = useServerKernel();
afterAll(async () => {
  await redis?.stop();
  rmSync(storeDir, { recursive: true, force: true });
  delete process.env.SERVERLESS_STORE;
});

const streamText = (record: ExecutionRecord, name: 'stdout' | 'stderr'): string =>
  record.iopub
    .filter((m) => m.header.msg_type === 'stream')
    .map((m) => m.content as KernelMessage.IStreamMsg['content'])
    .filter((c) => c.name === name)
    .map((c) => c.text)
    .join('');
const errorText = (record: ExecutionRecord): string => {
  const error = record.iopub.find((m) => m.header.msg_type === 'error');
  return error ? JSON.stringify(error.content) : '';
};

/** The defined mean of round `round` for element `i`: workers send `rank * 10 + i + round`. */
const expectedMean = (i: number, round: number): number => 15 + i + round;

describe('a worker killed in the middle of a round', () => {
  it('is retried; the round is applied once and every worker gets the exact means', async () => {
    const record = await execute(
      fixture.kernel,
      [
        '%%serverless --map [0, 1, 2, 3] --as rank --concurrency 4 --retries 2 --out crashed',
        "import { execFileSync } from 'node:child_process';",
        "import { exchange, invocation } from 'serverless-kernel';",
        "const ex = await exchange.open({ run: 'crash', rank, workers: 4, roundTimeoutS: 30 });",
        'const means: number[][] = [];',
        'for (let round = 0; round < 6; round += 1) {',
        '  // Killed from outside (as the OOM killer would), in round 3, on its first attempt only.',
        "  if (rank === 2 && round === 3 && invocation()!.attempt === 1) execFileSync('kill', ['-KILL', String(process.pid)]);",
        '  const mine = Float32Array.from({ length: 9 }, (_, i) => rank * 10 + i + round);',
        '  means.push(Array.from(await ex.allreduce(mine, { round })));',
        '}',
        'await ex.close();',
        '({ attempt: invocation()!.attempt, means })',
      ].join('\n'),
      { timeoutMs: 90_000 },
    );
    expect(errorText(record)).toBe('');
    const json = resultText(await execute(fixture.kernel, 'JSON.stringify(crashed)')) ?? "''";
    const workers = JSON.parse(json.slice(1, -1)) as { attempt: number; means: number[][] }[];
    expect(workers.map((w) => w.attempt)).toEqual([1, 1, 2, 1]);
    for (const worker of workers) {
      expect(worker.means).toEqual(
        Array.from({ length: 6 }, (_, round) => Array.from({ length: 9 }, (_, i) => expectedMean(i, round))),
      );
    }
  }, 120_000);
});

describe('a straggler', () => {
  it('is replaced once the others waited stragglerS, and the run ends well before the round deadline', async () => {
    const started = Date.now();
    const record = await execute(
      fixture.kernel,
      [
        '%%serverless --map [0, 1, 2, 3] --as rank --concurrency 4 --retries 1',
        "import { exchange, invocation } from 'serverless-kernel';",
        "const ex = await exchange.open({ run: 'slow', rank, workers: 4, roundTimeoutS: 60, stragglerS: 2 });",
        'for (let round = 0; round < 3; round += 1) {',
        '  if (rank === 3 && round === 1 && invocation()!.attempt === 1) await new Promise((r) => setTimeout(r, 120_000));',
        '  await ex.scatterReduce(Float32Array.from({ length: 16 }, (_, i) => i * rank), { round });',
        '}',
        'await ex.close();',
        'invocation()!.attempt',
      ].join('\n'),
      { timeoutMs: 90_000 },
    );
    const elapsedS = (Date.now() - started) / 1000;
    expect(errorText(record)).toBe('');
    expect(resultText(record)).toBe('[ 1, 1, 1, 2 ]');
    expect(streamText(record, 'stderr')).toContain(
      "worker 3 of exchange 'slow' held up round 1; its invocation was replaced",
    );
    // Replaced after about stragglerS, not left to the 60 s round deadline (nor the 120 s sleep).
    expect(elapsedS).toBeLessThan(45);
  }, 120_000);
});

describe('redis-server going away during a run', () => {
  const cell = (url: string): string =>
    [
      `%%serverless --map [0, 1, 2, 3] --as rank --concurrency 4 --store ${url}`,
      "import { exchange } from 'serverless-kernel';",
      "const ex = await exchange.open({ run: 'redis', rank, workers: 4, roundTimeoutS: 10 });",
      'let last = new Float32Array(0);',
      'for (let round = 0; round < ROUNDS; round += 1) {',
      '  await new Promise((r) => setTimeout(r, 100));',
      '  last = await ex.allreduce(Float32Array.from({ length: 8 }, (_, i) => rank + i), { round });',
      '}',
      'await ex.close();',
      'last[0]',
    ].join('\n');

  it('ends the cell with a clear error within the round deadline; the same cell works once redis is back', async () => {
    const server = redis as RedisServer;
    const url = server.url('faults');
    await execute(fixture.kernel, 'const ROUNDS = 60;');
    const started = Date.now();
    const running = execute(fixture.kernel, cell(url), { timeoutMs: 90_000 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await server.kill();
    const failed = await running;
    const elapsedS = (Date.now() - started) / 1000;
    // Every element failed with the store's error, naming the store and what to do.
    expect(errorText(failed)).toMatch(/MapFailedError/);
    const output = streamText(failed, 'stderr') + streamText(failed, 'stdout') + errorText(failed);
    expect(output).toMatch(/StoreUnavailableError|StoreTimeoutError/);
    expect(output).toMatch(new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    expect(output).toMatch(/redis-server|%serverless config --store/);
    // Within the 10 s round deadline (plus the time until the kill and start-up), never a hang.
    expect(elapsedS).toBeLessThan(2.5 + 10 + 15);

    redis = await startRedis({ port: server.port });
    await execute(fixture.kernel, 'const ROUNDS2 = 3;');
    const again = await execute(fixture.kernel, cell(url).replace('round < ROUNDS;', 'round < ROUNDS2;'), {
      timeoutMs: 90_000,
    });
    expect(errorText(again)).toBe('');
    // The mean of rank + 0 over 4 workers.
    expect(resultText(again)).toBe('[ 1.5, 1.5, 1.5, 1.5 ]');
  }, 150_000);
});

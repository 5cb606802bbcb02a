/**
 * The Lambda runner's deployment package: deterministic bytes (so an
 * unchanged runner is never uploaded again), a node_modules subset that is
 * self-contained (unzipped outside the repository, Node finds and runs
 * every runtime dependency from it, tfjs on the wasm backend included),
 * nothing a Node runtime never loads, and refusals past Lambda's limits.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import JSZip from 'jszip';

import { LAMBDA_LIMITS } from '../../kernel-magics/src/runtime/lambda/config';
import {
  buildRunnerPackage,
  RunnerNotBuiltError,
  RunnerPackage,
  RunnerPackageTooLargeError,
} from '../../kernel-magics/src/runtime/lambda/package';
import { RUNNER_DEPENDENCIES } from '../../kernel-magics/src/runtime/lambda/runner-modules';

let runnerDir: string;
let unzipDir: string;
let first: RunnerPackage;

/** A runner directory like the one scripts/bundle-lambda.mjs writes, with a small handler. */
function writeRunnerFixture(dir: string): void {
  mkdirSync(path.join(dir, 'src', 'runtime', 'local'), { recursive: true });
  writeFileSync(
    path.join(dir, 'handler.js'),
    "exports.handler = async () => ({ ok: require('./src/index').ok });\n",
  );
  writeFileSync(path.join(dir, 'src', 'index.js'), 'exports.ok = true;\n');
  writeFileSync(path.join(dir, 'src', 'runtime', 'local', 'worker.bundle.js'), '// worker\n');
}

/** Writes every file of a zip under `dir` (directories made as needed). */
async function unzipInto(zip: Buffer, dir: string): Promise<string[]> {
  const archive = await JSZip.loadAsync(zip);
  const names: string[] = [];
  for (const entry of Object.values(archive.files)) {
    const target = path.join(dir, entry.name);
    if (entry.dir) {
      mkdirSync(target, { recursive: true });
    } else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, await entry.async('nodebuffer'));
      names.push(entry.name);
    }
  }
  return names;
}

beforeAll(async () => {
  runnerDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-dir-'));
  unzipDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-unzipped-'));
  writeRunnerFixture(runnerDir);
  first = await buildRunnerPackage(runnerDir);
});

afterAll(() => {
  rmSync(runnerDir, { recursive: true, force: true });
  rmSync(unzipDir, { recursive: true, force: true });
});

describe('buildRunnerPackage', () => {
  it('gives the same bytes and CodeSha256 when built twice from the same files', async () => {
    const second = await buildRunnerPackage(runnerDir);
    expect(second.sha256).toBe(first.sha256);
    expect(Buffer.compare(second.zip, first.zip)).toBe(0);
    expect(first.sha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(first.zip.length).toBeLessThanOrEqual(LAMBDA_LIMITS.zippedCodeBytes);
    expect(first.unzippedBytes).toBeLessThanOrEqual(LAMBDA_LIMITS.unzippedCodeBytes);
  });

  it('gives other bytes when a file of the runner changes', async () => {
    const changed = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-dir-'));
    try {
      writeRunnerFixture(changed);
      writeFileSync(path.join(changed, 'src', 'index.js'), 'exports.ok = 2;\n');
      expect((await buildRunnerPackage(changed)).sha256).not.toBe(first.sha256);
    } finally {
      rmSync(changed, { recursive: true, force: true });
    }
  });

  it('is self-contained: unzipped outside the repository, every runtime dependency loads and runs', async () => {
    const names = await unzipInto(first.zip, unzipDir);
    expect(names.length).toBe(first.files);
    const script = `
      const path = require('node:path');
      (async () => {
        const tf = require('@tensorflow/tfjs');
        const wasm = require('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
        await tf.setBackend('wasm');
        const sum = Array.from(tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
        const { S3Client, ListBucketsCommand } = require('@aws-sdk/client-s3');
        // A request through the default credential chain loads the SDK's lazily required modules.
        const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
        const s3Error = await s3.send(new ListBucketsCommand({})).then(() => 'answered', (e) => e.code ?? e.name);
        s3.destroy();
        const { Redis } = require('ioredis');
        const redis = new Redis({ lazyConnect: true });
        redis.disconnect();
        const handler = await require('./handler.js').handler();
        const from = ${JSON.stringify(RUNNER_DEPENDENCIES)}.map((name) => require.resolve(name));
        console.log(JSON.stringify({ backend: tf.getBackend(), sum, s3Error, handler, from }));
      })().catch((error) => { console.error(error); process.exit(1); });
    `;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
    };
    delete env.NODE_PATH;
    const result = spawnSync(process.execPath, ['-e', script], {
      cwd: unzipDir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).not.toMatch(/Cannot find module/);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
      backend: string;
      sum: number[];
      s3Error: string;
      handler: unknown;
      from: string[];
    };
    expect(report).toMatchObject({
      backend: 'wasm',
      sum: [4, 6],
      s3Error: 'ECONNREFUSED',
      handler: { ok: true },
    });
    for (const resolved of report.from) {
      expect(resolved.startsWith(path.join(unzipDir, 'node_modules') + path.sep)).toBe(true);
    }
  });

  it('leaves out what a Node runtime never loads', async () => {
    const names = Object.keys((await JSZip.loadAsync(first.zip)).files);
    expect(names.filter((name) => /\.d\.ts$|\.map$|\/README(\.md)?$|\/CHANGELOG/i.test(name))).toEqual([]);
    expect(names.filter((name) => /\/(test|tests|__tests__)\//.test(name))).toEqual([]);
    // tfjs's Node bundle stays; its browser and bundler builds go.
    expect(names).toContain('node_modules/@tensorflow/tfjs/dist/tf.node.js');
    expect(names).toContain('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm');
    expect(
      names.filter((name) => /@tensorflow\/.*\/dist\/.*(\.min\.js|\.es2017\.js|\.fesm\.js)$/.test(name)),
    ).toEqual([]);
    expect(names).not.toContain('node_modules/@tensorflow/tfjs/dist/index.js');
    // Entries sorted, each directory before what it holds.
    expect([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(names);
  });

  it('refuses a directory without a built runner, saying how to build it', async () => {
    await expect(buildRunnerPackage(path.join(runnerDir, 'missing'))).rejects.toThrow(RunnerNotBuiltError);
    await expect(buildRunnerPackage(path.join(runnerDir, 'missing'))).rejects.toThrow(
      /node kernel-magics\/scripts\/bundle-lambda\.mjs/,
    );
  });

  it("refuses a package past Lambda's unzipped limit, saying what to do", async () => {
    const big = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-big-'));
    try {
      writeRunnerFixture(big);
      // Sparse: the size counts, no disk is used.
      const blob = path.join(big, 'blob.bin');
      writeFileSync(blob, '');
      truncateSync(blob, LAMBDA_LIMITS.unzippedCodeBytes + 1);
      const attempt = buildRunnerPackage(big, { dependencies: [] });
      await expect(attempt).rejects.toThrow(RunnerPackageTooLargeError);
      await expect(attempt).rejects.toThrow(/unzipped, over Lambda's limit/);
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  });

  it("refuses a package past Lambda's zipped direct-upload limit, saying what to do", async () => {
    const big = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-big-'));
    try {
      writeRunnerFixture(big);
      // Random bytes do not compress.
      writeFileSync(path.join(big, 'noise.bin'), randomBytes(LAMBDA_LIMITS.zippedCodeBytes + 1024));
      const attempt = buildRunnerPackage(big, { dependencies: [] });
      await expect(attempt).rejects.toThrow(RunnerPackageTooLargeError);
      await expect(attempt).rejects.toThrow(/zipped, over Lambda's direct-upload limit .*serverless deploy/);
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  });
});

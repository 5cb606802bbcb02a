// bench/lambda: the compiled package, and the cells the bench runs. Each case is a
// `%%serverless` body planned the way the kernel plans one (plan/plan.js's planRun:
// the body compiled by compile.ts, the kernel variables it names captured and
// V8-serialized), so the program, its captures and its bundled imports are what a
// notebook would send.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// The SDK warns once per process that releases after early 2027 need Node 22 (pinned in the lock file).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const require = createRequire(path.join(root, 'package.json'));
const dist = (file) => require(path.join(root, 'kernel-magics/dist/src', file));

/** The compiled package's modules the bench uses. */
export const pkg = {
  ...dist('runtime/lambda/lambda-backend.js'),
  ...dist('runtime/lambda/event.js'),
  ...dist('runtime/lambda/response.js'),
  ...dist('runtime/lambda/report.js'),
  ...dist('runtime/lambda/config.js'),
  ...dist('cli/offline.js'),
  ...dist('plan/plan.js'),
  ...dist('exchange/store/shared.js'),
};
/** The AWS SDK's Lambda client, as the package resolves it. */
export const sdk = require('@aws-sdk/client-lambda');

/** The memory each invocation asks for (MB; the alias `m256`). */
export const MEMORY_MB = 256;

/** The options of `%%serverless --backend lambda --memory 256`. */
const cellOptions = {
  backend: 'lambda',
  memoryMb: MEMORY_MB,
  timeoutS: 60,
  concurrency: 1,
  retries: 0,
  maxElements: 100_000,
  dryRun: false,
};

/** `bytes` bytes of kernel data (not all zeros, so nothing on the way compresses it away). */
const data = (bytes) => new Uint8Array(bytes).map((_, i) => i % 251);

/**
 * The cells: `{ name, captureBytes, request (planned once), expected value }`.
 * The third one imports a module of the notebook's directory, so every
 * invocation goes through the bundler (a cache hit after its first).
 */
export function planCases(dir) {
  writeFileSync(path.join(dir, 'helper.js'), 'exports.twice = (x) => 2 * x;\n');
  const plan = (name, body, captureBytes, expected) => {
    const planned = pkg.planRun({
      options: cellOptions,
      body,
      bodyLine: 1,
      label: '%%serverless --backend lambda',
      kernel: { payload: data(captureBytes) },
      sequence: 1,
      cwd: dir,
    });
    return { name, captureBytes, request: planned.requests[0], expected };
  };
  const body = "console.log('captured', payload.length);\npayload.length";
  return [
    plan('1 KB of captures', body, 1024, 1024),
    plan('1 MB of captures', body, 1024 * 1024, 1024 * 1024),
    plan(
      '1 KB + a local module (bundled)',
      `import { twice } from './helper';\n${body.replace(/payload\.length$/, 'twice(payload.length)')}`,
      1024,
      2048,
    ),
  ];
}

/** The same invocation as the kernel sends it again: a new run of the cell (new ids). */
export const rerun = (request) => ({ ...request, id: randomUUID(), runId: randomUUID() });

/** A scratch directory (the notebook's), removed at exit. */
export function scratchDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-lambda-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `q` quantile (nearest rank below) of `values`. */
export const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
/** The median. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

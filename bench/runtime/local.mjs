// bench/runtime: the embedded runtime invoked directly (LocalBackend), with
// a trivial task (double the element); every backend made here is disposed,
// and its workers are killed by PID if the bench exits first.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';

import { root } from '../lib/kernel-client.mjs';

const require = createRequire(path.join(root, 'package.json'));
const { LocalBackend } = require(path.join(root, 'kernel-magics/dist/src/runtime/local/index.js'));
/** The clean environment the runtime gives its workers. */
export const { cleanEnvironment } = require(
  path.join(root, 'kernel-magics/dist/src/runtime/local/config.js'),
);

const sandbox = require(path.join(root, 'kernel-magics/dist/src/runtime/local/sandbox.js'));

/**
 * How the runtime sandboxes its workers here, and the command that starts
 * `command` in the same sandbox (undefined when there is none).
 */
export function sandboxed(command) {
  const support = sandbox.sandboxSupport();
  if (!support.sandboxed) return { support };
  const view = {
    workerPath: path.join(root, 'kernel-magics/dist/src/runtime/local/worker.bundle.js'),
    packageRoot: path.join(root, 'kernel-magics'),
    cwd: root,
  };
  return { support, file: support.bwrap, args: [...sandbox.sandboxArgs(view), '--', ...command] };
}

/** The memory each invocation asks for (MB). */
export const MEMORY_MB = 1024;

const backends = new Set();
process.on('exit', () => {
  for (const backend of backends)
    for (const pid of backend.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
});
const never = new AbortController().signal;

/** The task's program, as the kernel would ship it. */
const source = '(async (captures, element) => ({ hasValue: true, value: element * 2, exports: {} }))';
export const program = {
  hash: createHash('sha256').update(source).digest('hex'),
  source,
  filename: 'bench-double',
};
const noCaptures = serialize({});
export const capturesHash = createHash('sha256').update(noCaptures).digest('hex');
let invocation = 0;
const request = (element) => ({
  id: `bench-${invocation++}`,
  runId: 'bench',
  index: element,
  program,
  captures: { hash: capturesHash, bytes: noCaptures },
  element: serialize(element),
  memoryMb: MEMORY_MB,
  timeoutS: 30,
  retries: 0,
  cwd: root,
});
/** A LocalBackend, disposed at exit if not before. */
export function newBackend(options) {
  const backend = new LocalBackend(options);
  backends.add(backend);
  return backend;
}
/** Disposes a backend made by newBackend. */
export async function disposeBackend(backend) {
  await backend.dispose();
  backends.delete(backend);
}
/** Invokes the task for `element` and checks the result; resolves with the invocation's record. */
export async function invokeLocal(backend, element) {
  const result = await backend.invoke(request(element), {}, never);
  if (result.outcome.status !== 'ok')
    throw new Error(`the local runtime answered ${JSON.stringify(result.outcome)}`);
  const { value } = deserialize(result.outcome.result);
  if (value !== element * 2) throw new Error(`the local runtime gave ${value} for ${element}`);
  return result;
}

// Shared by the benchmarks: free ports, medians, and a zeromq client that
// starts a kernel from a connection file and sends signed requests to it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const zmq = require('zeromq');
const wire = require(path.join(root, 'kernel-magics/dist/src/kernel/wire.js'));

const kernelspec = require(path.join(root, 'kernel-magics/dist/src/cli/kernelspec.js'));

/**
 * Our kernel's command line after the node binary for a connection file:
 * what its kernelspec gives Jupyter (Node's options included).
 */
export const ourKernel = (file) =>
  kernelspec
    .kernelJson()
    .argv.slice(1)
    .map((arg) => (arg === '{connection_file}' ? file : arg));

export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Kernels still running if the benchmark fails half-way are killed on exit.
export const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
export const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** How long a started kernel may take to answer kernel_info and its first cell. */
const START_TIMEOUT_MS = 30_000;
/** How long any later request may take. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A kernel did not answer in time. */
export class KernelTimeoutError extends Error {
  name = 'KernelTimeoutError';
}

/**
 * Starts a kernel (`argv(file)` gives its command line) and waits for its
 * first cell; on a timeout or failure the kernel is killed and the error thrown.
 */
export async function startKernel(name, argv) {
  // A directory without node_modules, as a notebook's usually is.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-'));
  const key = randomBytes(16).toString('hex');
  const ports = {};
  for (const p of ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'])
    ports[p] = await freePort();
  const file = path.join(dir, 'connection.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...ports,
      ip: '127.0.0.1',
      key,
      transport: 'tcp',
      signature_scheme: 'hmac-sha256',
      kernel_name: 'x',
    }),
  );
  const signer = new wire.MessageSigner(key);
  const headers = new wire.HeaderFactory();
  const shell = new zmq.Dealer();
  shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, argv(file), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.add(child);
  const pending = new Map();
  (async () => {
    try {
      for await (const frames of shell) {
        const reply = wire.decodeMessage(frames, signer);
        pending.get(reply.parent_header.msg_id)?.(reply);
      }
    } catch {
      // closed
    }
  })();
  // zeromq allows one send in flight per socket: chain them.
  let sending = Promise.resolve();
  const timers = new Set();
  // Every request has a deadline: a kernel that stops answering (tslab
  // 1.0.22 was seen to stop reading its shell socket at start) fails the
  // benchmark with a KernelTimeoutError instead of hanging it.
  const request = (msgType, content, timeoutMs = REQUEST_TIMEOUT_MS) => {
    const header = headers.create(msgType);
    let timer;
    const replied = new Promise((resolve, reject) => {
      pending.set(header.msg_id, resolve);
      timer = setTimeout(() => {
        pending.delete(header.msg_id);
        reject(new KernelTimeoutError(`${name}: no ${msgType} reply within ${timeoutMs} ms`));
      }, timeoutMs);
      timers.add(timer);
    }).finally(() => {
      clearTimeout(timer);
      timers.delete(timer);
    });
    sending = sending.then(() => shell.send(wire.encodeMessage({ msgType, content }, header, signer)));
    return sending.then(() => replied);
  };
  const stop = async () => {
    for (const timer of timers) clearTimeout(timer);
    shell.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    children.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The first send completes once the kernel has bound its sockets; ask
    // again every 50 ms until a kernel_info_reply arrives.
    let infoMs;
    for (;;) {
      if (ms(started) > START_TIMEOUT_MS) {
        throw new KernelTimeoutError(`${name}: no kernel_info_reply within ${START_TIMEOUT_MS} ms of its start`);
      }
      const answered = await Promise.race([
        // A poll that loses the race and times out later is no error.
        request('kernel_info_request', {}, START_TIMEOUT_MS).then(
          () => true,
          () => false,
        ),
        new Promise((r) => setTimeout(() => r(false), 50)),
      ]);
      if (answered) {
        infoMs = ms(started);
        break;
      }
    }
    const first = await request(
      'execute_request',
      { code: '1 + 1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
      START_TIMEOUT_MS,
    );
    if (first.content.status !== 'ok')
      throw new Error(`${name}: first cell failed: ${JSON.stringify(first.content)}`);
    return { infoMs, firstCellMs: ms(started), request, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}


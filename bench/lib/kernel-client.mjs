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
/** How long after a cell's reply its idle status may come before it counts as lost. */
const IDLE_GRACE_MS = 2_000;

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
  // What the kernel publishes: a cell's idle status ends its outputs.
  const iopub = new zmq.Subscriber();
  iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
  iopub.subscribe();
  const idleWaiters = new Map();
  (async () => {
    try {
      for await (const frames of iopub) {
        const msg = wire.decodeMessage(frames, signer);
        if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle')
          idleWaiters.get(msg.parent_header.msg_id)?.(true);
      }
    } catch {
      // closed
    }
  })();
  // Every wait has a deadline: a kernel that stops answering (tslab 1.0.22
  // was seen to stop reading its shell socket at start) fails the benchmark
  // with a KernelTimeoutError instead of hanging it.
  const timers = new Set();
  // `lost`: on timeout resolve with undefined instead of failing.
  const waitFor = (waiters, id, timeoutMs, what, lost = false) => {
    let timer;
    return new Promise((resolve, reject) => {
      waiters.set(id, resolve);
      timer = setTimeout(() => {
        if (lost) resolve(undefined);
        else reject(new KernelTimeoutError(`${name}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timers.add(timer);
    }).finally(() => {
      clearTimeout(timer);
      timers.delete(timer);
      waiters.delete(id);
    });
  };
  // zeromq allows one send in flight per socket: chain them.
  let sending = Promise.resolve();
  const send = (header, content, timeoutMs) => {
    const replied = waitFor(pending, header.msg_id, timeoutMs, `${header.msg_type} reply`);
    // When the send itself fails, the caller gets that error; the reply's own timeout is then no news.
    replied.catch(() => undefined);
    sending = sending.then(() =>
      shell.send(wire.encodeMessage({ msgType: header.msg_type, content }, header, signer)),
    );
    return sending.then(() => replied);
  };
  const request = (msgType, content, timeoutMs = REQUEST_TIMEOUT_MS) =>
    send(headers.create(msgType), content, timeoutMs);
  /** Sends a message that has no reply (comm_open, comm_msg). */
  const notify = (msgType, content) => {
    sending = sending.then(() =>
      shell.send(wire.encodeMessage({ msgType, content }, headers.create(msgType), signer)),
    );
    return sending;
  };
  /**
   * Runs a cell; resolves with its reply and the times from sending it to
   * its execute_reply (shell) and to its idle status (iopub: every output
   * is out, which is when a frontend shows the cell as done). `idleMs` is
   * undefined when no idle status came within IDLE_GRACE_MS of the reply:
   * tslab 1.0.22 drops iopub messages (it sends without waiting for the
   * previous send, which zeromq 6 refuses while one is in flight).
   */
  const execute = async (code, timeoutMs = REQUEST_TIMEOUT_MS) => {
    const header = headers.create('execute_request');
    const t = process.hrtime.bigint();
    // The idle status may come before the reply: wait for it from the start.
    const idle = waitFor(idleWaiters, header.msg_id, timeoutMs, 'idle status', true).then((seen) =>
      seen ? ms(t) : undefined,
    );
    const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false };
    const reply = await send(header, content, timeoutMs);
    const replyMs = ms(t);
    let grace;
    const idleMs = await Promise.race([
      idle,
      new Promise((resolve) => (grace = setTimeout(resolve, IDLE_GRACE_MS, undefined))),
    ]);
    clearTimeout(grace);
    idleWaiters.get(header.msg_id)?.(false); // stops waiting for a lost one
    return { reply, replyMs, idleMs };
  };
  const stop = async () => {
    for (const timer of timers) clearTimeout(timer);
    shell.close();
    iopub.close();
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
    return { infoMs, firstCellMs: ms(started), request, notify, execute, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}


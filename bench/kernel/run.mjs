// bench/kernel: serverless-kernel vs tslab 1.0.22, side by side in one run.
//
// STARTS times: start both kernels one after the other (order alternating),
// measuring start -> kernel_info_reply (the frontend sees the kernel) and
// start -> first cell `1 + 1` answered (the kernel can do work); then ROUNDS
// warm round trips of a trivial cell (execute_request -> execute_reply),
// the two kernels taking turns. Medians and ratios (ours / tslab; < 1 is faster).
// Writes bench/kernel/results/latest.json. Usage: node bench/kernel/run.mjs [starts] [rounds]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const zmq = require('zeromq');
const wire = require(path.join(root, 'kernel-magics/dist/src/kernel/wire.js'));

const STARTS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 40);

const KERNELS = {
  'serverless-kernel': (file) => [
    path.join(root, 'kernel-magics/dist/bin/serverless-kernel.js'),
    'kernel',
    '--connection-file',
    file,
  ],
  'tslab 1.0.22': (file) => [
    path.join(root, 'node_modules/tslab/bin/tslab'),
    'kernel',
    '--config-path',
    file,
  ],
};

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Kernels still running if the benchmark fails half-way are killed on exit.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

async function startKernel(name) {
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
  const child = spawn(process.execPath, KERNELS[name](file), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
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
  const request = (msgType, content) => {
    const header = headers.create(msgType);
    const replied = new Promise((resolve) => pending.set(header.msg_id, resolve));
    sending = sending.then(() => shell.send(wire.encodeMessage({ msgType, content }, header, signer)));
    return sending.then(() => replied);
  };
  // The first send completes once the kernel has bound its sockets; ask
  // again every 50 ms until a kernel_info_reply arrives.
  let infoMs;
  for (;;) {
    const answered = await Promise.race([
      request('kernel_info_request', {}).then(() => true),
      new Promise((r) => setTimeout(() => r(false), 50)),
    ]);
    if (answered) {
      infoMs = ms(started);
      break;
    }
  }
  const first = await request('execute_request', {
    code: '1 + 1',
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
  });
  if (first.content.status !== 'ok')
    throw new Error(`${name}: first cell failed: ${JSON.stringify(first.content)}`);
  const firstCellMs = ms(started);
  return {
    infoMs,
    firstCellMs,
    request,
    async stop() {
      shell.close();
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      children.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function roundTrip(kernel, i) {
  const t = process.hrtime.bigint();
  const reply = await kernel.request('execute_request', {
    code: `${i} + 1`,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
  });
  if (reply.content.status !== 'ok') throw new Error('cell failed');
  return ms(t);
}

// Both kernels live at once and take turns cell by cell, so machine noise
// hits them alike; start order alternates between runs.
const samples = Object.fromEntries(
  Object.keys(KERNELS).map((k) => [k, { info: [], firstCell: [], roundTrip: [] }]),
);
for (let run = 0; run < STARTS; run++) {
  const order = run % 2 ? Object.keys(KERNELS).reverse() : Object.keys(KERNELS);
  const kernels = {};
  for (const name of order) {
    kernels[name] = await startKernel(name);
    samples[name].info.push(kernels[name].infoMs);
    samples[name].firstCell.push(kernels[name].firstCellMs);
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const time = await roundTrip(kernels[name], i);
      // The first few cells include JIT warm-up of the compiler.
      if (i >= 5) samples[name].roundTrip.push(time);
    }
  }
  for (const name of order) await kernels[name].stop();
}

const [ours, theirs] = Object.keys(KERNELS);
const row = (label, key) => {
  const a = median(samples[ours][key]);
  const b = median(samples[theirs][key]);
  return { metric: label, [ours]: +a.toFixed(2), [theirs]: +b.toFixed(2), ratio: +(a / b).toFixed(3) };
};
const table = [
  row('start -> kernel_info_reply (ms, median)', 'info'),
  row('start -> first cell done (ms, median)', 'firstCell'),
  row('trivial cell round trip (ms, median)', 'roundTrip'),
];
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  starts: STARTS,
  rounds: ROUNDS,
  table,
  samples,
};
mkdirSync(path.join(root, 'bench/kernel/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/kernel/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
console.table(table);
process.exit(0);

// A real jupyter_server (Debian's) with the serverless-ts kernelspec installed in a temporary prefix,
// and kernels driven through @jupyterlab/services (what JupyterLab uses), for benchmarks that run
// cells the way a notebook user does. The same set-up as test/helpers/jupyter-server.ts and
// kernel-session.ts, in plain Node. Everything started here is stopped by PID (also on exit).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort, root } from './kernel-client.mjs';

const require = createRequire(path.join(root, 'package.json'));
const { KernelManager, ServerConnection } = require('@jupyterlab/services');

const KERNEL_CLI = path.join(root, 'kernel-magics/dist/bin/serverless-kernel.js');
const SYSTEM_PYTHON = '/usr/bin/python3';
/** How long the server may take to answer its status API, and a new kernel its kernel_info. */
const START_TIMEOUT_MS = 60_000;

const servers = new Set();
process.on('exit', () => {
  for (const child of servers) child.kill('SIGKILL');
});

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts jupyter_server on 127.0.0.1 with the kernelspec in a fresh prefix; `env` is added to the
 * server's environment (and so to its kernels'). Resolves once its API answers.
 */
export async function startJupyterServer(env = {}) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-server-'));
  const prefix = path.join(home, 'prefix');
  execFileSync(process.execPath, [KERNEL_CLI, 'install', '--prefix', prefix], { stdio: 'pipe' });
  const dir = (name) => {
    const full = path.join(home, name);
    mkdirSync(full, { recursive: true });
    return full;
  };
  const rootDir = dir('notebooks');
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const child = spawn(
    SYSTEM_PYTHON,
    [
      '-m',
      'jupyter_server',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.token=${token}`,
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${rootDir}`,
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      env: {
        ...process.env,
        ...env,
        JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
        JUPYTER_CONFIG_DIR: dir('config'),
        JUPYTER_DATA_DIR: dir('data'),
        JUPYTER_RUNTIME_DIR: dir('runtime'),
        IPYTHONDIR: dir('ipython'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  servers.add(child);
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const baseUrl = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    servers.delete(child);
    rmSync(home, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`jupyter_server exited early:\n${log}`);
    }
    const ok = await globalThis.fetch(`${baseUrl}api/status?token=${token}`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter_server did not answer within ${START_TIMEOUT_MS} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const manager = new KernelManager({
    serverSettings: ServerConnection.makeSettings({
      baseUrl,
      wsUrl: `ws://127.0.0.1:${port}/`,
      token,
      appendToken: true,
    }),
  });
  await manager.ready;
  return {
    rootDir,
    /** The server's process id (its kernels are its descendants). */
    pid: child.pid,
    log: () => log,
    /** Starts a serverless-ts kernel and waits for its kernel_info. */
    async startKernel() {
      const kernel = await manager.startNew({ name: 'serverless-ts' });
      await withTimeout(kernel.info, START_TIMEOUT_MS, 'kernel_info of a new kernel');
      // A kernel that restarts loses the cells' state: the benchmark must hear of it.
      kernel.statusChanged.connect((_, status) => {
        if (['restarting', 'autorestarting', 'dead'].includes(status)) {
          console.warn(`kernel ${kernel.id}: ${status}`);
        }
      });
      kernel.connectionStatusChanged.connect((_, status) => {
        if (status !== 'connected') console.warn(`kernel ${kernel.id}: connection ${status}`);
      });
      return kernel;
    },
    async stop() {
      manager.dispose();
      await stop();
    },
  };
}

/** A cell failed: its error name, value and traceback. */
export class CellError extends Error {
  name = 'CellError';
}

/**
 * Runs a cell; resolves with its printed text (stdout and stderr streams) once it is done.
 * @throws CellError when the cell raised; a timeout error after `timeoutMs`.
 */
export async function runCell(kernel, code, timeoutMs = 300_000) {
  const future = kernel.requestExecute({ code, allow_stdin: false, stop_on_error: true });
  let text = '';
  let error;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') error = msg.content;
  };
  const reply = await withTimeout(future.done, timeoutMs, `cell ${code.slice(0, 80)}`);
  if (error) {
    throw new CellError(`${error.ename}: ${error.evalue}\n${error.traceback.join('\n')}`);
  }
  if (reply.content.status !== 'ok') {
    throw new CellError(`the cell ended ${reply.content.status}: ${JSON.stringify(reply.content)}\n${text}`);
  }
  return text;
}

/** The JSON a cell printed on its last line starting with `marker`. */
export function printedJson(text, marker) {
  const lines = text.split('\n').filter((line) => line.startsWith(marker));
  if (lines.length === 0) throw new Error(`the cell printed no ${marker.trim()} line:\n${text.slice(-2000)}`);
  return JSON.parse(lines[lines.length - 1].slice(marker.length));
}

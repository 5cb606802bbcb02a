// What the lab/ browser scripts share (lab/smoke.mjs, bench/panel/run.mjs):
//   - `until()`: polls a check until it gives a truthy value or times out;
//   - `LabHarness`: a temporary directory; lab/server.py started in it on a
//     free 127.0.0.1 port with the serverless-ts kernel installed into a
//     temporary prefix and the given notebooks; Debian's /usr/bin/chromium
//     (headless, fresh user-data-dir, DevTools on 127.0.0.1) connected to
//     playwright-core over CDP. Every process it starts is remembered and
//     stopped by its PID (SIGTERM, SIGKILL after a grace period) in `close()`,
//     which also removes the temporary directory.
/* global fetch -- Node 20's fetch */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** lab/ */
export const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT = path.dirname(LAB_DIR);
export const CHROMIUM = '/usr/bin/chromium';
export const PYTHON = '/usr/bin/python3';
/** The default timeout of a step, ms. */
export const STEP_TIMEOUT_MS = 60_000;

/** The launch arguments of chromium (lab/chromium-args.json, shared with the browser tests), besides the profile and DevTools ones. */
export const CHROMIUM_ARGS = [
  ...JSON.parse(
    readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'chromium-args.json'), 'utf8'),
  ).args,
  '--window-size=1366,850',
];

/**
 * Calls `check` every 50 ms until it returns a truthy value (returned), or
 * throws after `timeoutMs` saying it waited for `what`. A check may throw to
 * stop waiting at once.
 */
export async function until(check, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Throws when the lab build (`buildDir`, default lab/build) or the prebuilt extension is missing. */
export function checkLabBuilt(buildDir = path.join(LAB_DIR, 'build')) {
  for (const file of [
    path.join(buildDir, 'static', 'main.js'),
    path.join(LAB_DIR, 'labextensions/jupyterlab-serverless/package.json'),
  ]) {
    if (!existsSync(file)) {
      throw new Error(
        `${path.relative(ROOT, file)} is missing: run \`npm run build -w lab\` first (lab/oldest: \`npm run build:oldest -w lab\`)`,
      );
    }
  }
}

/** A temporary directory with the processes started in it; see the file's header. */
export class LabHarness {
  /** @param {{ tmpPrefix?: string }} [options] the temporary directory's name prefix */
  constructor(options = {}) {
    this.tmp = mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix ?? 'jsl-lab-'));
    /** @type {{ name: string, child: import('node:child_process').ChildProcess, output: string }[]} */
    this.children = [];
    this.server = null;
  }

  /** Starts a child and remembers it, so it is stopped (by PID) whatever happens. */
  start(command, args, options) {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const record = { name: path.basename(command), child, output: '' };
    child.stdout.on('data', (chunk) => (record.output += chunk));
    child.stderr.on('data', (chunk) => (record.output += chunk));
    this.children.push(record);
    return record;
  }

  /**
   * Starts lab/server.py serving `notebooks` (`{ name, from }` copies the
   * file `from`, `{ name, json }` writes the object), with the kernel
   * installed into a temporary prefix. `serverArgs` are added to its
   * command line (e.g. `--expose-app-in-browser`).
   * @returns {Promise<{ baseUrl: string, token: string, server: object, notebookDir: string }>}
   */
  async startServer({ notebooks = [], serverArgs = [] } = {}) {
    const prefix = path.join(this.tmp, 'prefix');
    const notebookDir = path.join(this.tmp, 'notebooks');
    for (const dir of [notebookDir, 'config', 'data', 'runtime']) {
      mkdirSync(path.resolve(this.tmp, dir), { recursive: true });
    }
    for (const notebook of notebooks) {
      const target = path.join(notebookDir, notebook.name);
      if (notebook.from !== undefined) {
        copyFileSync(notebook.from, target);
      } else {
        writeFileSync(target, JSON.stringify(notebook.json, null, 1) + '\n');
      }
    }
    const install = spawnSync(
      process.execPath,
      [path.join(ROOT, 'kernel-magics/dist/bin/serverless-kernel.js'), 'install', '--prefix', prefix],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) {
      throw new Error(`kernel install failed: ${install.stderr}`);
    }
    const port = await freePort();
    const token = randomBytes(16).toString('hex');
    const env = {
      ...process.env,
      JUPYTER_TOKEN: token,
      JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
      JUPYTER_CONFIG_DIR: path.join(this.tmp, 'config'),
      JUPYTER_DATA_DIR: path.join(this.tmp, 'data'),
      JUPYTER_RUNTIME_DIR: path.join(this.tmp, 'runtime'),
    };
    const server = this.start(
      PYTHON,
      [
        path.join(LAB_DIR, 'server.py'),
        ...['--port', String(port), '--notebook-dir', notebookDir],
        ...['--state-dir', path.join(this.tmp, 'state'), '--no-browser'],
        ...serverArgs,
      ],
      { env },
    );
    this.server = server;
    const baseUrl = `http://127.0.0.1:${port}`;
    await until(async () => {
      if (server.child.exitCode !== null) {
        throw new Error(`lab/server.py exited early:\n${server.output}`);
      }
      try {
        return (await fetch(`${baseUrl}/api/status?token=${token}`)).ok;
      } catch {
        return false;
      }
    }, 'lab/server.py to answer');
    return { baseUrl, token, server, notebookDir };
  }

  /**
   * Starts chromium and connects playwright-core to it over CDP.
   * @returns {Promise<{ browser: object, cdp: import('playwright-core').Browser }>}
   */
  async startBrowser() {
    const browser = this.start(CHROMIUM, [
      ...CHROMIUM_ARGS,
      `--user-data-dir=${path.join(this.tmp, 'chromium-profile')}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ]);
    const endpoint = await until(() => {
      if (browser.child.exitCode !== null) {
        throw new Error(`chromium exited early:\n${browser.output}`);
      }
      return /DevTools listening on (ws:\/\/\S+)/.exec(browser.output)?.[1];
    }, 'chromium');
    return { browser, cdp: await chromium.connectOverCDP(endpoint) };
  }

  /** The output of lab/server.py so far ('' before it started). */
  serverOutput() {
    return this.server?.output ?? '';
  }

  /** Stops every process started (last first) by PID and removes the temporary directory. */
  async close() {
    for (const record of [...this.children].reverse()) {
      await stopProcess(record);
    }
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** SIGTERM to the PID, SIGKILL after a grace period; resolves once it exited. */
export async function stopProcess({ child }, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const signal = (name) => {
    try {
      process.kill(child.pid, name);
    } catch {
      // It exited in between (ESRCH).
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

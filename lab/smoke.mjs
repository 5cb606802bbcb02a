// Smoke check of the JupyterLab build in a real browser:
//   lab/server.py on a free port (temp notebook dir with binder/demo.ipynb,
//   the serverless-ts kernel installed in a temp prefix), Debian's chromium
//   driven by playwright-core: the app loads, the prebuilt jupyterlab-serverless
//   extension activates, a new "TypeScript (serverless)" notebook runs `1 + 1`
//   and shows 2, the console has no errors; screenshot in
//   test-results/lab-smoke.png; then the dark theme through the menus,
//   test-results/lab-smoke-dark.png. Server and browser are stopped by PID.
// Usage: node lab/smoke.mjs [--verbose]   (after `npm run build -w lab`)
//   --verbose prints every browser console message and the server's output.
/* global fetch, document, getComputedStyle -- Node 20's fetch; the page function runs in the browser */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';
const STEP_TIMEOUT_MS = 60_000;
const verbose = process.argv.includes('--verbose');
const screenshotPath = path.join(root, 'test-results', 'lab-smoke.png');
const darkScreenshotPath = path.join(root, 'test-results', 'lab-smoke-dark.png');

const started = performance.now();
const timings = {};
const mark = (name) => (timings[name] = Math.round(performance.now() - started));
const children = [];
let tmp = '';

function fail(message) {
  throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a child and remembers it, so it is stopped (by PID) whatever happens. */
function start(command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const record = { name: path.basename(command), child, output: '' };
  child.stdout.on('data', (chunk) => (record.output += chunk));
  child.stderr.on('data', (chunk) => (record.output += chunk));
  children.push(record);
  return record;
}

/** SIGTERM to the PID, SIGKILL after a grace period; resolves once it exited. */
async function stop({ child }, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function until(check, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function startServer() {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'jsl-lab-smoke-'));
  const prefix = path.join(tmp, 'prefix');
  const notebooks = path.join(tmp, 'notebooks');
  for (const dir of [notebooks, 'config', 'data', 'runtime']) {
    mkdirSync(path.resolve(tmp, dir), { recursive: true });
  }
  copyFileSync(path.join(root, 'binder', 'demo.ipynb'), path.join(notebooks, 'demo.ipynb'));
  const install = spawnSync(
    process.execPath,
    [path.join(root, 'kernel-magics/dist/bin/serverless-kernel.js'), 'install', '--prefix', prefix],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) {
    fail(`kernel install failed: ${install.stderr}`);
  }
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = {
    ...process.env,
    JUPYTER_TOKEN: token,
    JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: path.join(tmp, 'config'),
    JUPYTER_DATA_DIR: path.join(tmp, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(tmp, 'runtime'),
  };
  const server = start(
    PYTHON,
    [
      path.join(here, 'server.py'),
      ...['--port', String(port), '--notebook-dir', notebooks],
      ...['--state-dir', path.join(tmp, 'state'), '--no-browser'],
    ],
    { env },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (server.child.exitCode !== null) {
      fail(`lab/server.py exited early:\n${server.output}`);
    }
    try {
      return (await fetch(`${baseUrl}/api/status?token=${token}`)).ok;
    } catch {
      return false;
    }
  }, 'lab/server.py to answer');
  return { baseUrl, token, server };
}

async function startBrowser() {
  const browser = start(CHROMIUM, [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--window-size=1366,850',
    `--user-data-dir=${path.join(tmp, 'chromium-profile')}`,
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    'about:blank',
  ]);
  const endpoint = await until(
    () => /DevTools listening on (ws:\/\/\S+)/.exec(browser.output)?.[1],
    'chromium',
  );
  return { browser, cdp: await chromium.connectOverCDP(endpoint) };
}

async function main() {
  for (const file of ['build/static/main.js', 'labextensions/jupyterlab-serverless/package.json']) {
    if (!existsSync(path.join(here, file))) {
      fail(`lab/${file} is missing: run \`npm run build -w lab\` first`);
    }
  }
  const { baseUrl, token, server } = await startServer();
  mark('server up');
  const { cdp } = await startBrowser();
  mark('browser up');
  const consoleErrors = [];
  const context = cdp.contexts()[0];
  const page = await context.newPage();
  await page.setViewportSize({ width: 1366, height: 850 });
  page.on('console', (message) => {
    if (verbose) {
      process.stdout.write(`[browser ${message.type()}] ${message.text()}\n`);
    }
    if (message.type() === 'error') {
      consoleErrors.push(`console.error: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.setDefaultTimeout(STEP_TIMEOUT_MS);

  await page.goto(`${baseUrl}/lab/workspaces/${randomUUID()}?reset&token=${token}`);
  await page.waitForSelector('#jp-main-dock-panel');
  await page.waitForSelector('.jp-Launcher');
  mark('app shown');
  await page.waitForSelector('body[data-jp-serverless="loaded"]', { state: 'attached' });
  mark('extension loaded');

  await page.click('.jp-LauncherCard[data-category="Notebook"][title="TypeScript (serverless)"]');
  const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await panel.locator('.jp-Toolbar .jp-KernelName', { hasText: 'TypeScript (serverless)' }).waitFor();
  // The toolbar indicator starts as "idle" before any kernel is connected; the
  // status bar shows the session's real kernel status.
  await page.locator('#jp-main-statusbar', { hasText: 'TypeScript (serverless) | Idle' }).waitFor();
  await panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor();
  mark('kernel idle');

  await panel.locator('.jp-Cell .cm-content').first().click();
  await page.keyboard.type('1 + 1');
  await page.keyboard.press('Shift+Enter');
  const output = panel.locator('.jp-Cell').first().locator('.jp-OutputArea-output');
  await output.filter({ hasText: /^\s*2\s*$/ }).waitFor();
  mark('output 2');

  mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath });
  mark('screenshot');

  // The dark theme, through the menus (its CSS comes from build/themes/).
  await page.locator('#jp-menu-panel .lm-MenuBar-item', { hasText: 'Settings' }).click();
  await page.locator('.lm-Menu-item', { hasText: /^Theme$/ }).hover();
  await page.locator('.lm-Menu-item', { hasText: /^JupyterLab Dark$/ }).click();
  await page.waitForSelector('body[data-jp-theme-name="JupyterLab Dark"][data-jp-theme-light="false"]', {
    state: 'attached',
  });
  // The dark variables are applied (theme-dark-extension's --jp-layout-color0 is #111).
  await page.waitForFunction(
    () => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() === '#111',
  );
  // Changing the theme shows the splash screen until the new theme is loaded.
  await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
  await page.screenshot({ path: darkScreenshotPath });
  mark('dark theme');
  await cdp.close();
  await stop(server);
  if (verbose) {
    process.stdout.write(`--- server output ---\n${server.output}\n`);
  }
  if (consoleErrors.length > 0) {
    fail(`browser console errors:\n  ${consoleErrors.join('\n  ')}`);
  }
}

let exitCode = 0;
try {
  await main();
  const shots = [screenshotPath, darkScreenshotPath].map((file) => path.relative(root, file));
  process.stdout.write(`lab smoke: ok; screenshots ${shots.join(', ')}\n`);
} catch (error) {
  exitCode = 1;
  process.stderr.write(`lab smoke: FAILED: ${error.message}\n`);
  const server = children.find((c) => c.name === 'python3');
  if (server) {
    process.stderr.write(`--- server output (tail) ---\n${server.output.slice(-3000)}\n`);
  }
} finally {
  for (const record of children.reverse()) {
    await stop(record);
  }
  if (tmp) {
    rmSync(tmp, { recursive: true, force: true });
  }
}
process.stdout.write(`timings (ms since start): ${JSON.stringify(timings)}\n`);
process.exit(exitCode);

// Smoke check of the JupyterLab build in a real browser:
//   lab/server.py on a free port (temp notebook dir with binder/demo.ipynb,
//   the serverless-ts kernel installed in a temp prefix), Debian's chromium
//   driven by playwright-core: the app loads, the prebuilt jupyterlab-serverless
//   extension activates, a new "TypeScript (serverless)" notebook runs `1 + 1`
//   and shows 2, the console has no errors; screenshot in
//   test-results/lab-smoke.png; then the dark theme through the menus,
//   test-results/lab-smoke-dark.png. Server and browser are stopped by PID
//   (lab/harness.mjs starts and stops them).
// Usage: node lab/smoke.mjs [--verbose] [--oldest]   (after `npm run build -w lab`)
//   --verbose prints every browser console message and the server's output.
//   --oldest checks lab/oldest/build, the oldest JupyterLab the extension
//   supports (`npm run build:oldest -w lab`; screenshots lab-smoke-oldest*.png).
/* global document, getComputedStyle -- the page functions run in the browser */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  checkLabBuilt,
  LAB_DIR,
  LabHarness,
  ROOT as root,
  STEP_TIMEOUT_MS,
  stopProcess,
} from './harness.mjs';

const verbose = process.argv.includes('--verbose');
const oldest = process.argv.includes('--oldest');
const buildDir = oldest ? path.join(LAB_DIR, 'oldest', 'build') : path.join(LAB_DIR, 'build');
const shotName = oldest ? 'lab-smoke-oldest' : 'lab-smoke';
const screenshotPath = path.join(root, 'test-results', `${shotName}.png`);
const darkScreenshotPath = path.join(root, 'test-results', `${shotName}-dark.png`);

const started = performance.now();
const timings = {};
const mark = (name) => (timings[name] = Math.round(performance.now() - started));
let harness = null;

function fail(message) {
  throw new Error(message);
}

async function main() {
  checkLabBuilt(buildDir);
  harness = new LabHarness({ tmpPrefix: 'jsl-lab-smoke-' });
  const { baseUrl, token, server } = await harness.startServer({
    notebooks: [{ name: 'demo.ipynb', from: path.join(root, 'binder', 'demo.ipynb') }],
    serverArgs: ['--build-dir', buildDir],
  });
  mark('server up');
  const { cdp } = await harness.startBrowser();
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
  await stopProcess(server);
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
  const serverOutput = harness?.serverOutput() ?? '';
  if (serverOutput) {
    process.stderr.write(`--- server output (tail) ---\n${serverOutput.slice(-3000)}\n`);
  }
} finally {
  await harness?.close();
}
process.stdout.write(`timings (ms since start): ${JSON.stringify(timings)}\n`);
process.exit(exitCode);

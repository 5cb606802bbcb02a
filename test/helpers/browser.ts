/**
 * Debian's chromium for browser tests, driven by playwright-core over the
 * DevTools protocol: started by this helper (headless, a fresh profile,
 * DevTools on 127.0.0.1 only) and stopped by PID. Pages record their console
 * errors and uncaught exceptions so a test can assert there were none.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Browser, chromium, Page } from 'playwright-core';

import { REPO_ROOT } from './paths';
import { stopProcess, waitFor } from './processes';

/** Debian's chromium (scripts/setup.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';
/** Chromium's launch arguments, shared with lab/harness.mjs (no throttling of background pages). */
const CHROMIUM_ARGS = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'lab', 'chromium-args.json'), 'utf8')) as { args: string[] }
).args;
/** Where browser tests save their screenshots. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'browser');

/** A running chromium. */
export interface TestBrowser {
  browser: Browser;
  /** A new page of the given size that records console errors. */
  newPage(size?: { width: number; height: number }): Promise<RecordedPage>;
  stop(): Promise<void>;
}

/** A page and what its console reported as errors. */
export interface RecordedPage {
  page: Page;
  errors: string[];
}

/** Starts chromium and connects to it. */
export async function startBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'jsl-chromium-'));
  let output = '';
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_ARGS,
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stopChild = async (): Promise<void> => {
    await stopProcess(child);
    rmSync(profile, { recursive: true, force: true });
  };
  let endpoint = '';
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) {
          throw new Error(`chromium exited early:\n${output}`);
        }
        endpoint = /DevTools listening on (ws:\/\/\S+)/.exec(output)?.[1] ?? '';
        return endpoint !== '';
      },
      30_000,
      'chromium to listen for DevTools',
    );
  } catch (error) {
    await stopChild();
    throw error;
  }
  const browser = await chromium.connectOverCDP(endpoint);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    async newPage(size = { width: 1440, height: 900 }) {
      const page = await browser.contexts()[0].newPage();
      await page.setViewportSize(size);
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') {
          errors.push(`console.error: ${message.text()}`);
        }
      });
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      return { page, errors };
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await stopChild();
    },
  };
}

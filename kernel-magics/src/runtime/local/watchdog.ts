/**
 * The watchdog of an unsandboxed worker: a thread that ends the worker once
 * the kernel that started it is gone. Without bubblewrap's
 * `--die-with-parent`, nothing else stops a worker whose main thread is busy
 * (`while (true) {}` with a long timeout) when the kernel is killed: the
 * closed channel is only noticed by the main thread's event loop. The thread
 * polls the parent PID (a process whose parent died is given another) and
 * sends the whole process SIGKILL, which needs nothing from the main thread.
 */
import type * as WorkerThreads from 'node:worker_threads';

/** The worker's argument that starts the watchdog (the kernel adds it when there is no sandbox). */
export const WATCHDOG_FLAG = '--watch-kernel';

/** How often the watchdog checks that the kernel is alive (ms): a worker outlives it by at most this. */
export const WATCHDOG_POLL_MS = 250;

/** The thread's code: it stays unreferenced, so it never keeps a worker alive. */
const THREAD = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
}, workerData.pollMs);
`;

/** Starts the watchdog when the worker was started with {@link WATCHDOG_FLAG}. */
export function startWatchdogIfAsked(argv: readonly string[] = process.argv): void {
  if (!argv.includes(WATCHDOG_FLAG)) {
    return;
  }
  // Loaded only here: sandboxed workers (no watchdog) would pay for it at every cold start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
  const { Worker } = require('node:worker_threads') as typeof WorkerThreads;
  const thread = new Worker(THREAD, {
    eval: true,
    workerData: { parent: process.ppid, pollMs: WATCHDOG_POLL_MS },
    // Its own output never mixes with the program's (captured on the main thread).
    stdout: true,
    stderr: true,
  });
  thread.unref();
}

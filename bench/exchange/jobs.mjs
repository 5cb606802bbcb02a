// What bench/exchange's scripts share: a worker is a Node process of its own (as an invocation is)
// given its job as a JSON argument and answering with one JSON line; and the store view whose waits
// only poll, the reference the woken waits are compared with.
import { spawn } from 'node:child_process';

/**
 * Runs `script` with `job` (JSON) as its argument and `env` added to this process's environment;
 * resolves to the last line it printed, parsed. A process that never ends (a store gone, a round
 * that never completes) is killed after `timeoutMs`, never waited for.
 */
export function runJob(script, job, env = {}, timeoutMs = 300_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(job)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: timeoutMs,
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()))
        : reject(new Error(`${script} exited ${code ?? signal}`)),
    );
  });
}

/** `store` without its watch: an exchange's waits over it only poll, at the store's usual pace. */
export function pollingOnly(store) {
  return new Proxy(store, {
    get: (target, property) =>
      property === 'watch'
        ? undefined
        : typeof target[property] === 'function'
          ? target[property].bind(target)
          : target[property],
  });
}

// bench/runtime: the floors the runtime is compared with: a forked child
// echoing invoke-shaped IPC messages (warm round trip), and process starts
// (`node -e 0`, fork -> first IPC message) for the cold start.
import { fork, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { serialize } from 'node:v8';

import { children, root } from '../lib/kernel-client.mjs';
import { capturesHash, MEMORY_MB, program } from './local.mjs';

/** Writes the floors' child scripts into `scratch`. */
export function writeFloorScripts(scratch) {
  writeFileSync(path.join(scratch, 'echo.cjs'), "process.on('message', (m) => process.send(m));\n");
  writeFileSync(path.join(scratch, 'ready.cjs'), "process.send({ type: 'ready' });\n");
}

/** The IPC floor: a forked child echoing each message as it came. */
export async function startEcho(scratch) {
  const file = path.join(scratch, 'echo.cjs');
  const child = fork(file, [], { serialization: 'advanced', stdio: 'ignore' });
  children.add(child);
  let seq = 0;
  // What an environment receives for a warm invocation (program and captures already there).
  const echo = (element) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({
        type: 'invoke',
        seq: seq++,
        programHash: program.hash,
        capturesHash,
        element: serialize(element),
        cwd: root,
      });
    });
  await echo(0);
  return {
    echo,
    stop: async () => {
      const exit = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exit;
      children.delete(child);
    },
  };
}

/** Times `batch` sequential calls of fn(i). */
export async function timeBatch(fn, batch) {
  const times = [];
  for (let i = 0; i < batch; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return times;
}

// fork -> first IPC message from an empty module, as the runtime forks its
// workers (clean env, heap limit, piped stdio, advanced serialization).
export function forkReadyTime(scratch, env) {
  const file = path.join(scratch, 'ready.cjs');
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = fork(file, [], {
      env,
      execArgv: [`--max-old-space-size=${MEMORY_MB}`],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    children.add(child);
    child.once('error', reject);
    child.once('message', () => {
      const elapsed = performance.now() - t;
      child.once('exit', () => {
        children.delete(child);
        resolve(elapsed);
      });
      child.kill('SIGKILL');
    });
  });
}

/** spawn -> exit of `node ...args` with `env` (ms). */
export function spawnTime(args, env) {
  return commandTime(process.execPath, args, env);
}

/** spawn -> exit of `file ...args` with `env` (ms); piped stdio as the runtime's workers. */
export function commandTime(file, args, env) {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env });
    child.stdout.resume();
    child.stderr.resume();
    children.add(child);
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(performance.now() - t);
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code}`));
    });
  });
}

// CPU time of a jupyter_server's process tree by role, from /proc: the server, its kernel, the
// kernel's worker processes (execution environments) and the rest (sandbox launchers). Summed
// over the processes alive at each reading: a process gone between two readings loses its share.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `pid` and its descendants. */
function tree(pid) {
  const children = (read(`/proc/${pid}/task/${pid}/children`) ?? '').trim().split(/\s+/).filter(Boolean);
  return [pid, ...children.flatMap((child) => tree(Number(child)))];
}

function roleOf(pid, serverPid) {
  if (pid === serverPid) return 'server';
  const command = (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ');
  if (command.includes('worker.bundle')) return 'workers';
  if (command.includes('serverless-kernel.js kernel')) return 'kernel';
  return 'other';
}

/** CPU ms so far of every live process under the server, by role (and per process, for deltas). */
export function cpuByProcess(serverPid) {
  const out = new Map();
  for (const pid of tree(serverPid)) {
    const text = read(`/proc/${pid}/stat`);
    if (!text) continue;
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out.set(pid, { role: roleOf(pid, serverPid), ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
  }
  return out;
}

/** CPU ms used between two readings by role (processes in both readings, and those started since). */
export function cpuSince(before, after) {
  const roles = { server: 0, kernel: 0, workers: 0, other: 0 };
  for (const [pid, now] of after) {
    roles[now.role] += now.ms - (before.get(pid)?.ms ?? 0);
  }
  return roles;
}

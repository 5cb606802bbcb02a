/**
 * The sandbox of an execution environment: what a worker process sees, as a
 * Lambda sees it. With bubblewrap and namespaces, each worker runs in new
 * user, PID, IPC and UTS namespaces and a mount namespace whose root is an
 * empty read-only tmpfs with only this bound in: the system's programs and
 * libraries, a few files of /etc (DNS, certificates, users), Node, this
 * package (read-only), the `node_modules` directories the notebook's
 * `require` resolves from (read-only), a private writable /tmp, its own
 * /proc and a minimal /dev, and the files shipped with `--files` in its
 * working directory, and the embedded store's directory, writable. None of
 * the kernel's processes, its home, its
 * connection file or the notebook's other files are visible; every
 * capability is dropped; it dies with the kernel (`--die-with-parent`).
 * The network is the host's: Lambda functions reach the internet, and the
 * kernel's ports only answer messages signed with the key the body cannot
 * read.
 *
 * Without bubblewrap or namespaces (some containers), workers run as plain
 * processes with a clean environment, and a watchdog thread in each ends it
 * when the kernel dies (see watchdog.ts); detection happens once, and
 * `%serverless status` says why there is no sandbox.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

/** `auto`: sandbox when bubblewrap and namespaces work; `off`: never (the environment variable wins). */
export type SandboxMode = 'auto' | 'off';

/** The environment variable that turns the sandbox off (`SERVERLESS_SANDBOX=off`). */
export const SANDBOX_ENV = 'SERVERLESS_SANDBOX';

/** Whether workers can be sandboxed, and if not why. */
export type SandboxSupport = { sandboxed: true; bwrap: string } | { sandboxed: false; reason: string };

/** Top-level system directories bound in read-only (or recreated as the symlinks they are). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * The files of /etc a Node program needs to resolve names, verify TLS and
 * name users; nothing else of /etc is visible.
 */
const ETC_FILES = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/gai.conf',
  '/etc/nsswitch.conf',
  '/etc/passwd',
  '/etc/group',
  '/etc/localtime',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
];

/** The namespaces a sandbox gets; the network namespace stays the host's (see the module comment). */
const NAMESPACE_FLAGS = [
  '--unshare-user',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
];

/** How long the one-time check that bubblewrap works may take (ms). */
const DETECT_TIMEOUT_MS = 5_000;

/** The first executable named `name` on PATH (or in /usr/bin), if any. */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

const detected = new Map<string, SandboxSupport>();

/**
 * Whether bubblewrap runs a sandbox here: it is found, and it starts a
 * program in the namespaces the sandbox uses. Checked once per process (a
 * few ms, synchronously); `mode` `off` or `SERVERLESS_SANDBOX=off` turn the
 * sandbox off without checking.
 */
export function sandboxSupport(mode: SandboxMode = 'auto', bwrapName = 'bwrap'): SandboxSupport {
  if (mode === 'off' || process.env[SANDBOX_ENV] === 'off') {
    return {
      sandboxed: false,
      reason: `turned off (${mode === 'off' ? 'sandbox: off' : `${SANDBOX_ENV}=off`})`,
    };
  }
  if (process.platform !== 'linux') {
    return { sandboxed: false, reason: `namespaces are Linux's; this is ${process.platform}` };
  }
  const known = detected.get(bwrapName);
  if (known) {
    return known;
  }
  const bwrap = bwrapName.includes('/') ? bwrapName : findExecutable(bwrapName);
  let support: SandboxSupport;
  if (bwrap === undefined) {
    support = {
      sandboxed: false,
      reason: 'bubblewrap (bwrap) is not installed; install the Debian package bubblewrap',
    };
  } else {
    const check = spawnSync(
      bwrap,
      [...NAMESPACE_FLAGS, '--ro-bind', '/', '/', '--proc', '/proc', '--die-with-parent', 'true'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: DETECT_TIMEOUT_MS, encoding: 'utf8' },
    );
    const why =
      (check.stderr ?? '').trim().split('\n')[0] || check.error?.message || `exit ${String(check.status)}`;
    support =
      check.status === 0
        ? { sandboxed: true, bwrap }
        : { sandboxed: false, reason: `bubblewrap cannot create namespaces here (${why})` };
  }
  detected.set(bwrapName, support);
  return support;
}

/** What `%serverless status` says of the environments' isolation. */
export function describeIsolation(support: SandboxSupport): string {
  return support.sandboxed
    ? 'each environment in a sandbox (bubblewrap: own PID, mount and user namespaces; code read-only; private /tmp; ' +
        'nothing of the kernel visible; dies with the kernel)'
    : `NOT sandboxed: ${support.reason}. Environments have a clean environment and die with the kernel, ` +
        "but see what the kernel's user can see (see the README, Isolation)";
}

/** What a sandboxed worker sees. */
export interface SandboxView {
  /** The worker entry point (its directory is bound in read-only). */
  workerPath: string;
  /** This package's root (bound in read-only: programs `require('serverless-kernel')`). */
  packageRoot: string;
  /** The notebook's directory: the working directory, and where `require` resolves from. */
  cwd: string;
  /** A directory whose top-level entries appear read-only in the working directory (`--files`). */
  filesDir?: string;
  /** The embedded store's directory, bound in writable at its own path. */
  storeDir?: string;
}

/** The `node_modules` directories `require` looks in from `dir` (and its ancestors), that exist. */
export function nodeModulesChain(dir: string): string[] {
  const found: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const candidate = path.join(current, 'node_modules');
    if (path.basename(current) !== 'node_modules' && existsSync(candidate)) {
      found.push(candidate);
    }
    if (path.dirname(current) === current) {
      return found;
    }
  }
}

/** Binds a system directory, or recreates it as the symlink it is (merged /usr). */
function systemDir(dir: string): string[] {
  try {
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink()) {
      return ['--symlink', readlinkSync(dir), dir];
    }
    return stat.isDirectory() ? ['--ro-bind', dir, dir] : [];
  } catch {
    return [];
  }
}

/** The directories that hold Node itself, when it is not under a system directory (nvm, a tarball). */
function nodeInstall(): string[] {
  const real = realpathSync(process.execPath);
  if (SYSTEM_DIRS.some((dir) => real.startsWith(`${dir}/`))) {
    return [];
  }
  // <prefix>/bin/node: the prefix holds its libraries too.
  return [path.dirname(path.dirname(real))];
}

/**
 * What every sandbox binds of this kernel's own installation (Node, the
 * package and its node_modules): looked up once per package root, not at
 * every environment start. The notebook's node_modules are looked up each
 * time (a package installed mid-session must be found).
 */
const installDirs = new Map<string, string[]>();

function kernelInstall(packageRoot: string, workerPath: string): string[] {
  const key = `${packageRoot}\0${workerPath}`;
  let dirs = installDirs.get(key);
  if (!dirs) {
    dirs = [...nodeInstall(), packageRoot, path.dirname(workerPath), ...nodeModulesChain(packageRoot)];
    installDirs.set(key, dirs);
  }
  return dirs;
}

/** Read-only binds of `dirs` (each once, in order; a directory inside an earlier one is bound again, harmlessly). */
function readOnly(dirs: string[]): string[] {
  return [...new Set(dirs)].flatMap((dir) => ['--ro-bind', dir, dir]);
}

/**
 * The bubblewrap arguments (before the command) that give a worker the view
 * described in the module comment.
 */
export function sandboxArgs(view: SandboxView, entries: readonly string[] = []): string[] {
  const cwd = path.resolve(view.cwd);
  const code = [...kernelInstall(view.packageRoot, view.workerPath), ...nodeModulesChain(cwd)];
  const files = view.filesDir
    ? entries.flatMap((entry) => [
        '--ro-bind',
        path.join(view.filesDir as string, entry),
        path.join(cwd, entry),
      ])
    : [];
  return [
    ...NAMESPACE_FLAGS,
    '--die-with-parent',
    '--cap-drop',
    'ALL',
    ...SYSTEM_DIRS.flatMap(systemDir),
    ...ETC_FILES.flatMap((file) => ['--ro-bind-try', file, file]),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...readOnly(code),
    '--dir',
    cwd,
    ...files,
    // The one writable directory of the notebook machine (a bind mount: the read-only remount of / leaves it be).
    ...(view.storeDir ? ['--bind', view.storeDir, view.storeDir] : []),
    '--chdir',
    cwd,
    // Everything but /tmp (and /dev, /proc) is read-only, as a Lambda's file system.
    '--remount-ro',
    '/',
  ];
}

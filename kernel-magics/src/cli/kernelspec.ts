/**
 * Writes the `serverless-ts` kernelspec (kernel.json and logos) into a
 * Jupyter data directory, and removes it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DISPLAY_NAME, KERNEL_NAME } from '../kernel/kernel-info';
import { PACKAGE_ROOT } from '../package-root';

/** Where to install: the user's data dir, a prefix, or Python's sys.prefix. */
export type InstallTarget =
  { kind: 'user' } | { kind: 'prefix'; prefix: string } | { kind: 'sys-prefix' } | { kind: 'system' };

/** Raised when the install location cannot be determined or written. */
export class KernelspecInstallError extends Error {
  override readonly name = 'KernelspecInstallError';
}

/** The user's Jupyter data dir, as jupyter_core computes it on Linux/macOS. */
function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) {
    return process.env.JUPYTER_DATA_DIR;
  }
  if (process.platform === 'darwin') {
    return path.join(os.homedir(), 'Library', 'Jupyter');
  }
  const xdg = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'jupyter');
}

function pythonSysPrefix(): string {
  for (const python of ['python3', 'python']) {
    try {
      return execFileSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).trim();
    } catch {
      // try the next interpreter name
    }
  }
  throw new KernelspecInstallError('--sys-prefix needs python3 on PATH; use --prefix DIR instead');
}

/** The kernels directory for a target. */
export function kernelsDir(target: InstallTarget): string {
  switch (target.kind) {
    case 'user':
      return path.join(userDataDir(), 'kernels');
    case 'prefix':
      return path.join(path.resolve(target.prefix), 'share', 'jupyter', 'kernels');
    case 'sys-prefix':
      return path.join(pythonSysPrefix(), 'share', 'jupyter', 'kernels');
    case 'system':
      return '/usr/local/share/jupyter/kernels';
  }
}

/**
 * Node.js options the kernel runs with.
 *
 * `--v8-pool-size=1`: one V8 helper thread instead of Node's four. The
 * kernel allocates a whole TypeScript program per cell, and with four
 * helpers the garbage collector's parallel work took as much CPU as the
 * cell itself (bench/RESULTS.md, bench/kernel). Notebooks often run on
 * one or two cores (Binder, teaching labs) beside the browser, the Jupyter
 * server and the runtime's workers, where those helpers take the core the
 * cell needs: with one helper a trivial cell and the first cell are faster
 * on two cores. A count taken from the machine (`0`) would not do:
 * it reads the CPU affinity, which in a container shows the host's cores,
 * not the pod's CPU limit.
 */
export const KERNEL_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=1'];

/** The kernel.json contents: this node binary runs this package's CLI. */
export function kernelJson(): Record<string, unknown> {
  return {
    argv: [
      process.execPath,
      ...KERNEL_NODE_OPTIONS,
      path.join(PACKAGE_ROOT, 'dist', 'bin', 'serverless-kernel.js'),
      'kernel',
      '--connection-file',
      '{connection_file}',
    ],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    // Interrupts come as interrupt_request on control, never as a signal to
    // the process group (which would also hit the runtime's workers).
    interrupt_mode: 'message',
    metadata: { debugger: false },
  };
}

/** The logos {@link installKernelspec} copies from the package's kernelspec/ folder. */
const LOGOS = ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg'];
/** The files {@link installKernelspec} writes into the kernelspec's directory. */
const KERNELSPEC_FILES = ['kernel.json', ...LOGOS];

/** Installs the kernelspec; returns the directory written. */
export function installKernelspec(target: InstallTarget): string {
  const dir = path.join(kernelsDir(target), KERNEL_NAME);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelJson(), null, 2) + '\n');
    for (const logo of LOGOS) {
      copyFileSync(path.join(PACKAGE_ROOT, 'kernelspec', logo), path.join(dir, logo));
    }
  } catch (error) {
    throw new KernelspecInstallError(`Cannot write the kernelspec to ${dir}: ${(error as Error).message}`);
  }
  return dir;
}

/**
 * Removes the kernelspec from a target: the files {@link installKernelspec}
 * writes, then its directory when nothing else is in it (a file someone
 * added is kept, and named in the error). Returns the directory removed, or
 * undefined when the kernelspec was not installed there.
 *
 * @throws KernelspecInstallError when the files cannot be removed or others remain.
 */
export function uninstallKernelspec(target: InstallTarget): string | undefined {
  const dir = path.join(kernelsDir(target), KERNEL_NAME);
  if (!existsSync(dir)) {
    return undefined;
  }
  try {
    for (const file of KERNELSPEC_FILES) {
      rmSync(path.join(dir, file), { force: true });
    }
  } catch (error) {
    throw new KernelspecInstallError(`Cannot remove the kernelspec in ${dir}: ${(error as Error).message}`);
  }
  const others = readdirSync(dir);
  if (others.length > 0) {
    throw new KernelspecInstallError(
      `Removed the kernelspec's files from ${dir}, but it also holds ${others.join(', ')}, ` +
        'which it did not install: remove them and the directory yourself.',
    );
  }
  rmdirSync(dir);
  return dir;
}

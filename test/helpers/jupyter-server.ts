/**
 * A real jupyter_server (Debian's) on 127.0.0.1 for end-to-end tests, with the
 * serverless-ts kernelspec installed in a temporary prefix. Stopped by PID.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KERNEL_CLI, SYSTEM_PYTHON } from './paths';
import { freePort, stopProcess, waitFor } from './processes';

/** A running server. */
export interface JupyterServer {
  baseUrl: string;
  wsUrl: string;
  token: string;
  /** The directory notebooks and kernels run in. */
  rootDir: string;
  /** Environment that finds the kernelspec (for nbconvert and friends). */
  env: NodeJS.ProcessEnv;
  /** Everything the server printed (kernel stderr included). */
  log(): string;
  /** The server's process id: its kernels and their execution environments are its descendants. */
  pid: number;
  stop(): Promise<void>;
}

/** Installs the kernelspec into a fresh temporary prefix; returns the env that finds it. */
export function kernelEnvironment(): { env: NodeJS.ProcessEnv; home: string } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'jsl-test-'));
  const prefix = path.join(home, 'prefix');
  execFileSync(process.execPath, [KERNEL_CLI, 'install', '--prefix', prefix], { stdio: 'pipe' });
  const jupyterDir = (name: string): string => {
    const dir = path.join(home, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    home,
    env: {
      ...process.env,
      JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
      JUPYTER_CONFIG_DIR: jupyterDir('config'),
      JUPYTER_DATA_DIR: jupyterDir('data'),
      JUPYTER_RUNTIME_DIR: jupyterDir('runtime'),
      IPYTHONDIR: jupyterDir('ipython'),
    },
  };
}

/** Starts jupyter_server and waits until its API answers. */
export async function startJupyterServer(): Promise<JupyterServer> {
  const { env, home } = kernelEnvironment();
  const rootDir = path.join(home, 'notebooks');
  mkdirSync(rootDir, { recursive: true });
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  let output = '';
  const child: ChildProcess = spawn(
    SYSTEM_PYTHON,
    [
      '-m',
      'jupyter_server',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.token=${token}`,
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${rootDir}`,
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}/`;
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`jupyter_server exited early:\n${output}`);
        }
        try {
          const response = await fetch(`${baseUrl}api/status?token=${token}`);
          return response.ok;
        } catch {
          return false;
        }
      },
      30000,
      'jupyter_server to answer',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}/`,
    token,
    rootDir,
    env,
    log: () => output,
    pid: child.pid as number,
    stop,
  };
}

/**
 * The JupyterLab that `npm start` serves (scripts/start.mjs: the project's
 * lab/ build, or a real `jupyter lab` 4 on PATH; or the oldest supported
 * release, lab/oldest/build), or lab/ with what an install prefix holds
 * (startPrefixLab), on a free 127.0.0.1 port
 * with its state in a temporary directory, for browser tests. Its kernels'
 * embedded store is in that directory too (`$SERVERLESS_STORE`): a test's
 * exchanges and models neither see nor leave state in the user's home.
 * Stopped by PID.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT, SYSTEM_PYTHON } from './paths';
import { freePort, stopProcess, waitFor } from './processes';

/** A running JupyterLab. */
export interface LabServer {
  /** e.g. `http://127.0.0.1:PORT` (no trailing slash). */
  baseUrl: string;
  token: string;
  /** Where the notebooks are served from. */
  notebookDir: string;
  /** A URL of the app that opens `notebook` in a fresh workspace named `workspace`. */
  notebookUrl(notebook: string, workspace: string): string;
  /** Everything start.mjs and the server printed. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Which JupyterLab serves the app: `newest` is what `npm start` serves
 * (lab/build, JupyterLab 4.6.4, or a `jupyter lab` on PATH); `oldest` is
 * lab/oldest/build, the oldest release the extension supports.
 */
export type LabBuild = 'newest' | 'oldest';

/** The JupyterLab releases extension/compat.json names: the oldest supported, the newest tested (lab/). */
export const LAB_RELEASES: Record<LabBuild, string> = (() => {
  const compat = JSON.parse(readFileSync(path.join(REPO_ROOT, 'extension', 'compat.json'), 'utf8')) as {
    oldest: string;
    newest: string;
  };
  return { oldest: compat.oldest, newest: compat.newest };
})();

/** The build of lab/ that serves `build` (none: the default of `npm start`). */
function labBuildDir(build: LabBuild): string | undefined {
  return build === 'oldest' ? path.join(REPO_ROOT, 'lab', 'oldest', 'build') : undefined;
}

/**
 * The JupyterLab release a page of lab/server.py runs, from its page config's
 * `buildHash` (lab/server.py hashes the main.js it serves): the
 * `@jupyterlab/application` version bundled in the build of lab/ whose
 * main.js has that hash; null when no build of lab/ has it (e.g. a
 * `jupyter lab` on PATH served the page).
 */
export function servedRelease(buildHash: string): string | null {
  for (const dir of [path.join(REPO_ROOT, 'lab', 'build'), path.join(REPO_ROOT, 'lab', 'oldest', 'build')]) {
    const main = path.join(dir, 'static', 'main.js');
    if (!existsSync(main)) {
      continue;
    }
    const bundle = readFileSync(main);
    if (createHash('sha256').update(bundle).digest('hex').slice(0, 16) === buildHash) {
      return /"@jupyterlab\/application",\s*version:\s*"([^"]+)"/.exec(bundle.toString('utf8'))?.[1] ?? null;
    }
  }
  return null;
}

/** A notebook file's JSON. */
export type NotebookJson = Record<string, unknown>;

/** A notebook on the serverless-ts kernel with `sources` as its code cells. */
export function serverlessNotebook(sources: string[]): NotebookJson {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'serverless-ts', display_name: 'TypeScript (serverless)', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source,
    })),
  };
}

/** Writes `notebooks` into a new state dir's notebook dir. */
function newStateDir(notebooks: Record<string, NotebookJson>): { stateDir: string; notebookDir: string } {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-lab-'));
  const notebookDir = path.join(stateDir, 'notebooks');
  mkdirSync(notebookDir, { recursive: true });
  for (const [name, json] of Object.entries(notebooks)) {
    writeFileSync(path.join(notebookDir, name), JSON.stringify(json, null, 1));
  }
  return { stateDir, notebookDir };
}

/**
 * Runs `node scripts/start.mjs` with `notebooks` in its notebook dir, serving
 * `options.build` (default `newest`); resolves once the API answers.
 */
export async function startLab(
  notebooks: Record<string, NotebookJson>,
  options: { build?: LabBuild } = {},
): Promise<LabServer> {
  const buildDir = labBuildDir(options.build ?? 'newest');
  const { stateDir, notebookDir } = newStateDir(notebooks);
  const port = await freePort();
  return launch({
    what: "npm start's JupyterLab",
    command: process.execPath,
    args: [
      path.join(REPO_ROOT, 'scripts', 'start.mjs'),
      ...['--port', String(port), '--state-dir', stateDir],
      ...(buildDir === undefined ? [] : ['--lab-build', buildDir]),
    ],
    env: process.env,
    port,
    stateDir,
    notebookDir,
  });
}

/**
 * Serves lab/ (lab/server.py, the project's JupyterLab) with what Jupyter
 * finds through `jupyterPath` only: kernelspecs and prebuilt extensions (the
 * labextensions dirs of the Jupyter data path, not lab/labextensions), as a
 * JupyterLab installed in that prefix would. Jupyter's config, data and
 * runtime dirs are in the state dir. Resolves once the API answers.
 */
export async function startPrefixLab(
  jupyterPath: string,
  notebooks: Record<string, NotebookJson>,
): Promise<LabServer> {
  const { stateDir, notebookDir } = newStateDir(notebooks);
  const jupyterDir = (name: string): string => {
    const dir = path.join(stateDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const port = await freePort();
  return launch({
    what: 'lab/server.py',
    command: SYSTEM_PYTHON,
    args: [
      path.join(REPO_ROOT, 'lab', 'server.py'),
      ...['--port', String(port), '--ip', '127.0.0.1', '--notebook-dir', notebookDir],
      ...['--state-dir', jupyterDir('lab'), '--no-browser', '--jupyter-path-extensions'],
    ],
    env: {
      ...process.env,
      JUPYTER_PATH: jupyterPath,
      JUPYTER_CONFIG_DIR: jupyterDir('config'),
      JUPYTER_DATA_DIR: jupyterDir('data'),
      JUPYTER_RUNTIME_DIR: jupyterDir('runtime'),
    },
    port,
    stateDir,
    notebookDir,
  });
}

/** How to start a lab server, and the dirs it owns. */
interface LaunchOptions {
  /** What it is, for messages. */
  what: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  /** Removed when the server stops. */
  stateDir: string;
  notebookDir: string;
}

/** Starts a lab server in its own process group; resolves once the API answers. */
async function launch(options: LaunchOptions): Promise<LabServer> {
  const { what, port, stateDir, notebookDir } = options;
  const token = randomBytes(16).toString('hex');
  let output = '';
  const child: ChildProcess = spawn(
    options.command,
    options.args,
    // Its own process group: stop() can then end the server and kernels it started even if
    // the launcher (start.mjs) itself has to be killed.
    {
      env: { ...options.env, JUPYTER_TOKEN: token, SERVERLESS_STORE: path.join(stateDir, 'store') },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const group = child.pid;
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (group !== undefined) process.kill(-group, signal);
    } catch {
      // The group has ended.
    }
  };
  // If the test process exits without stop() (a hook timed out, jest force-exits), end the group too.
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    // The server stops its kernels on SIGTERM (start.mjs passes it on and exits when the server
    // has); then whatever of the group is left (a server or kernel that did not stop) is killed.
    await stopProcess(child, 10_000);
    killGroup('SIGKILL');
    process.off('exit', onExit);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`${what} exited early:\n${output}`);
        }
        try {
          return (await fetch(`${baseUrl}/api/status?token=${token}`)).ok;
        } catch {
          return false;
        }
      },
      60_000,
      `${what} to answer`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    baseUrl,
    token,
    notebookDir,
    notebookUrl: (notebook, workspace) =>
      `${baseUrl}/lab/workspaces/${workspace}/tree/${encodeURIComponent(notebook)}?reset&token=${token}`,
    log: () => output,
    stop,
  };
}

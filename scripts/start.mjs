// npm start: serves JupyterLab on 127.0.0.1 with the jupyterlab-serverless
// extension, the serverless-ts kernel (installed project-locally) and the demo
// notebooks, and prints the URL. JupyterLab is this project's own build
// (lab/: bundled from npm packages, served by Debian's jupyter_server), or a
// real `jupyter lab` 4 when one is on PATH (with the prebuilt extension in a
// project-local data dir). Options: --port N (default 8888), --state-dir DIR
// (where Jupyter's config, data, runtime files and the notebooks live;
// default .jupyter-serverless/, git-ignored), --lab-build DIR (serve another
// build of lab/, e.g. lab/oldest/build, the oldest JupyterLab the extension
// supports; always the project's server, even with a jupyter lab on PATH). Token:
// $JUPYTER_TOKEN, else generated. (scripts/setup.sh, run first by `npm start`,
// installed and built what was missing.)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let options;
try {
  ({ values: options } = parseArgs({
    options: {
      port: { type: 'string', default: '8888' },
      'state-dir': { type: 'string' },
      'lab-build': { type: 'string' },
      help: { type: 'boolean' },
    },
  }));
} catch (error) {
  process.stderr.write(
    `npm start: ${error.message}\nUsage: npm start -- [--port N] [--state-dir DIR] [--lab-build DIR]\n`,
  );
  process.exit(2);
}
if (options.help) {
  process.stdout.write(
    'Usage: npm start -- [--port N] [--state-dir DIR] [--lab-build DIR]   (token from $JUPYTER_TOKEN, else generated)\n',
  );
  process.exit(0);
}
const port = Number(options.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`npm start: --port must be a TCP port number (1-65535), got "${options.port}"\n`);
  process.exit(2);
}

// Everything Jupyter writes stays in the state dir (default .jupyter-serverless/, git-ignored).
const state = path.resolve(options['state-dir'] ?? path.join(root, '.jupyter-serverless'));
const prefix = path.join(state, 'prefix');
const notebooks = path.join(state, 'notebooks');
for (const dir of ['config', 'data', 'runtime', 'notebooks']) {
  mkdirSync(path.join(state, dir), { recursive: true });
}
const install = spawnSync(
  process.execPath,
  [path.join(root, 'kernel-magics/dist/bin/serverless-kernel.js'), 'install', '--prefix', prefix],
  {
    stdio: 'inherit',
  },
);
if (install.status !== 0) {
  process.exit(install.status ?? 1);
}
// Copy the demo notebooks once; the user's edits are theirs afterwards.
for (const name of readdirSync(path.join(root, 'binder')).filter((n) => n.endsWith('.ipynb'))) {
  if (!existsSync(path.join(notebooks, name))) {
    copyFileSync(path.join(root, 'binder', name), path.join(notebooks, name));
  }
}

const token = process.env.JUPYTER_TOKEN || randomBytes(24).toString('hex');
const env = {
  ...process.env,
  JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
  JUPYTER_CONFIG_DIR: path.join(state, 'config'),
  JUPYTER_DATA_DIR: path.join(state, 'data'),
  JUPYTER_RUNTIME_DIR: path.join(state, 'runtime'),
};
/** A real JupyterLab 4 on PATH, if any (its `jupyter lab --version`). */
function realJupyterLab() {
  const probe = spawnSync('jupyter', ['lab', '--version'], { encoding: 'utf8', env });
  const version = probe.status === 0 ? probe.stdout.trim() : '';
  return /^4\./.test(version) ? version : undefined;
}

const allowRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
const labBuild = options['lab-build'] === undefined ? undefined : path.resolve(options['lab-build']);
// A build of lab/ was asked for: the project's server, whatever is on PATH.
const realLab = labBuild === undefined ? realJupyterLab() : undefined;
let server;
if (realLab) {
  // The prebuilt extension goes into the project-local data dir, which
  // JupyterLab searches for labextensions.
  const target = path.join(state, 'data', 'labextensions', 'jupyterlab-serverless');
  rmSync(target, { recursive: true, force: true });
  cpSync(path.join(root, 'extension', 'labextension'), target, { recursive: true });
  server = spawn(
    'jupyter',
    [
      'lab',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.token=${token}`,
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${notebooks}`,
      ...allowRoot,
    ],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
} else {
  server = spawn(
    '/usr/bin/python3',
    [
      path.join(root, 'lab', 'server.py'),
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--notebook-dir',
      notebooks,
      '--state-dir',
      path.join(state, 'lab'),
      '--no-browser',
      ...(labBuild === undefined ? [] : ['--build-dir', labBuild]),
    ],
    { env: { ...env, JUPYTER_TOKEN: token }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
}
process.stdout.write(
  [
    '',
    `jupyter-serverless: JupyterLab on http://127.0.0.1:${port}/lab?token=${token}`,
    `  ${realLab ? `jupyter lab ${realLab} from PATH` : labBuild ? `the project's JupyterLab from ${path.relative(root, labBuild)}/` : "the project's JupyterLab 4.6 (lab/)"}, ` +
      'with the serverless side panel (the lambda icon on the right)',
    `  kernel "serverless-ts" (TypeScript (serverless)); notebooks in ${notebooks}`,
    '  Stop with Ctrl-C.',
    '',
  ].join('\n'),
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.kill('SIGTERM'));
}
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// npm run package: builds what users install, into dist-packages/ (git-ignored):
//   serverless-kernel-<version>.tgz       npm package: the kernel and its command
//   jupyterlab-serverless-<version>.tgz   npm package: the extension's sources as JS
//   jupyterlab_serverless-<version>-py3-none-any.whl
//                                         Python package: the prebuilt extension
// It builds first (tsc -b, the worker and Lambda bundles, the prebuilt extension),
// then packs with npm and builds the wheel with Debian's python3-build and
// python3-hatchling (no PyPI: no isolated build environment).
// Usage: node scripts/package.mjs [--out DIR] [--no-build] [--json]
//   --no-build  the build is current (e.g. `npm test` built it)
//   --json      print the artifacts as JSON ({ npm: { name: file }, wheel: file, sizes }) on stdout
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The npm workspaces published to npm. */
const NPM_WORKSPACES = ['kernel-magics', 'extension'];
/** The directory whose pyproject.toml builds the wheel. */
const WHEEL_PROJECT = 'extension';
/** Debian's Python, which has python3-build and python3-hatchling (scripts/setup.sh installs them). */
const PYTHON = '/usr/bin/python3';

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(root, 'dist-packages') },
      'no-build': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  fail(`${error.message}\nUsage: node scripts/package.mjs [--out DIR] [--no-build] [--json]`, 2);
}
const out = path.resolve(options.out);
// With --json, stdout carries the JSON only: progress goes to stderr.
const say = (line) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);

function fail(message, status = 1) {
  process.stderr.write(`package: ${message}\n`);
  process.exit(status);
}

/** Runs a command in the repository; its output goes to stderr unless captured; exits on failure. */
function run(command, args, { capture = false } = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', capture ? 'pipe' : 2, capture ? 'pipe' : 2],
  });
  if (result.error) {
    fail(`${command} could not start: ${result.error.message}`);
  }
  if (result.status !== 0) {
    fail(
      `${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})\n${result.stderr ?? ''}`,
    );
  }
  return result.stdout;
}

/** Removes earlier artifacts of these packages from the output dir, so it holds one of each. */
function clearOldArtifacts() {
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(out)) {
    if (/^(serverless-kernel|jupyterlab-serverless)-.*\.tgz$|^jupyterlab_serverless-.*\.whl$/.test(name)) {
      rmSync(path.join(out, name));
    }
  }
}

/** npm pack of each workspace (built already: no prepack) into the output dir; `{ name: file }`. */
function packNpm() {
  const args = ['pack', '--json', '--ignore-scripts', '--pack-destination', out];
  for (const workspace of NPM_WORKSPACES) {
    args.push('--workspace', workspace);
  }
  const packed = JSON.parse(run('npm', args, { capture: true }));
  return Object.fromEntries(packed.map((entry) => [entry.name, path.join(out, entry.filename)]));
}

/** The wheel, built with Debian's python3-build without an isolated environment. */
function buildWheel() {
  const probe = spawnSync(PYTHON, ['-c', 'import build, hatchling'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    fail(
      `${PYTHON} lacks the build or hatchling module: install python3-build and python3-hatchling ` +
        '(sudo apt-get install -y python3-build python3-hatchling) or `pip install build hatchling`.',
    );
  }
  const version = JSON.parse(readFileSync(path.join(root, WHEEL_PROJECT, 'package.json'), 'utf8')).version;
  // --skip-dependency-check: Debian's hatchling declares `editables`, which only editable
  // installs use and Debian does not package; a wheel build never imports it.
  run(PYTHON, [
    '-m',
    'build',
    '--wheel',
    '--no-isolation',
    '--skip-dependency-check',
    '--outdir',
    out,
    path.join(root, WHEEL_PROJECT),
  ]);
  const wheels = readdirSync(out).filter((name) => /^jupyterlab_serverless-.*\.whl$/.test(name));
  if (wheels.length !== 1) {
    fail(
      `expected one jupyterlab_serverless wheel of version ${version} in ${out}, found: ${wheels.join(', ')}`,
    );
  }
  return path.join(out, wheels[0]);
}

if (!options['no-build']) {
  say('package: building (tsc -b, the worker and Lambda bundles, the prebuilt extension)');
  run('npm', ['run', '-s', 'build']);
  run(process.execPath, [path.join(root, 'lab', 'build-extension.mjs'), '--no-tsc']);
}
clearOldArtifacts();
const npm = packNpm();
const wheel = buildWheel();
const files = [...Object.values(npm), wheel];
const sizes = Object.fromEntries(files.map((file) => [path.basename(file), statSync(file).size]));
if (options.json) {
  process.stdout.write(`${JSON.stringify({ npm, wheel, sizes }, null, 2)}\n`);
} else {
  say(`package: in ${path.relative(process.cwd(), out) || '.'}:`);
  for (const [name, bytes] of Object.entries(sizes)) {
    say(`  ${name}  ${(bytes / 1024).toFixed(0)} KiB`);
  }
}

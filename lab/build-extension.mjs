// Builds jupyterlab-serverless (extension/) as a prebuilt (federated)
// JupyterLab extension with @jupyter/builder and links it into
// lab/labextensions/, where lab/server.py looks for prebuilt extensions.
// The shared-module ranges it asks JupyterLab for accept every release from
// the oldest supported one (extension/compat.json) to the last 4.x: the
// builder is given JupyterLab 4.6.4's core package file (core-meta) with the
// @jupyterlab/* and @lumino/* ranges widened to `^` the oldest release's
// versions (lab/oldest/package.json pins them), and the ranges the build
// emits are checked.
// Usage: node lab/build-extension.mjs [--development] [--no-tsc]
//   --no-tsc: extension/lib is already compiled (e.g. by the root `npm run build`).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { copyStyle } from '../scripts/copy-style.mjs';
import { readCompat } from './compat.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const extensionDir = path.join(root, 'extension');
const extension = JSON.parse(readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
const outputDir = path.join(extensionDir, extension.jupyterlab.outputDir ?? 'static');

/** A step that failed: its output has been shown; the script exits with `status` (after its clean-up). */
class StepFailed extends Error {
  constructor(status) {
    super(`exit ${status}`);
    this.status = status;
  }
}

function run(label, args) {
  const started = performance.now();
  // tsc reports errors on stdout; the builder prints its stats there: shown only on failure.
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}\nlab: ${label} failed (exit ${result.status ?? result.signal})\n`);
    throw new StepFailed(result.status ?? 1);
  }
  return ((performance.now() - started) / 1000).toFixed(1);
}

/** {@link run} for a step with nothing to clean up after it: a failure exits at once. */
function runOrExit(label, args) {
  try {
    return run(label, args);
  } catch (error) {
    if (error instanceof StepFailed) process.exit(error.status);
    throw error;
  }
}

copyStyle();
const compat = readCompat(root);
const oldestVersions = JSON.parse(readFileSync(path.join(here, 'oldest', 'package.json'), 'utf8')).overrides;
const tscSeconds = process.argv.includes('--no-tsc')
  ? '0 (skipped)'
  : runOrExit('tsc -b extension', [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'extension']);
const coreDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-core-'));
let builderSeconds;
try {
  const coreFile = path.join(coreDir, 'core.package.json');
  writeFileSync(coreFile, JSON.stringify(widenedCore(), null, 2));
  builderSeconds = run('build-labextension', [
    path.join(root, 'node_modules/@jupyter/builder/lib/build-labextension.js'),
    '--core-package-file',
    coreFile,
    ...(process.argv.includes('--development') ? ['--development'] : []),
    extensionDir,
  ]);
} catch (error) {
  if (!(error instanceof StepFailed)) throw error;
  process.exitCode = error.status;
} finally {
  rmSync(coreDir, { recursive: true, force: true });
}
if (process.exitCode) process.exit();

// lab/labextensions/<name> -> extension/<outputDir> (a link, so a rebuild is picked up).
const link = path.join(here, 'labextensions', ...extension.name.split('/'));
mkdirSync(path.dirname(link), { recursive: true });
if (existsSync(link) || isLink(link)) {
  rmSync(link, { recursive: true, force: true });
}
symlinkSync(path.relative(path.dirname(link), outputDir), link, 'dir');
process.stdout.write(
  `lab: built ${extension.name} into ${path.relative(root, outputDir)}/ ` +
    `(tsc ${tscSeconds} s, build-labextension ${builderSeconds} s), linked from ${path.relative(root, link)}\n`,
);
const requirements = sharedRequirements();
process.stdout.write(
  `lab: shared modules it takes from JupyterLab (${compat.oldest} to the last 4.x: ${compat.jupyterlab}):\n` +
    `${requirements.map(describe).join('\n')}\n`,
);
const narrow = requirements.filter((r) => isCore(r.name) && r.range !== `^${oldestVersions[r.name]}`);
if (narrow.length > 0) {
  process.stderr.write(
    `lab: these ranges do not accept JupyterLab ${compat.oldest} (lab/oldest/package.json): ` +
      `${narrow.map(describe).join(', ')}; a package new since ${compat.oldest} moves the floor ` +
      '(extension/compat.json, lab/oldest/pin-release.mjs)\n',
  );
  process.exit(1);
}

/** A package whose range JupyterLab's release decides (the ones widened). */
function isCore(name) {
  return name.startsWith('@jupyterlab/') || name.startsWith('@lumino/');
}

/**
 * JupyterLab's core package file (core-meta) with every @jupyterlab/* and
 * @lumino/* range `^` the oldest release's version of the package (a
 * package the oldest release lacks keeps its range); the builder turns
 * these ranges into the extension's requirements.
 */
function widenedCore() {
  const core = JSON.parse(
    readFileSync(path.join(root, 'node_modules/@jupyterlab/core-meta/core.package.json'), 'utf8'),
  );
  const widen = (ranges = {}) =>
    Object.fromEntries(
      Object.entries(ranges).map(([name, range]) => [
        name,
        isCore(name) && oldestVersions[name] !== undefined ? `^${oldestVersions[name]}` : range,
      ]),
    );
  return { ...core, dependencies: widen(core.dependencies), resolutions: widen(core.resolutions) };
}

/** The shared modules the built extension consumes, as its remoteEntry declares them. */
function sharedRequirements() {
  const built = JSON.parse(readFileSync(path.join(outputDir, 'package.json'), 'utf8'));
  const remoteEntry = readFileSync(path.join(outputDir, built.jupyterlab._build.load), 'utf8');
  const consume =
    /shareKey:"([^"]+)",import:([^,]+),requiredVersion:"([^"]*)",strictVersion:[^,]+,singleton:(!0|!1)/g;
  const byName = new Map();
  for (const [, name, imported, range, singleton] of remoteEntry.matchAll(consume)) {
    byName.set(name, { name, range, singleton: singleton === '!0', bundled: imported !== 'null' });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function describe({ name, range, singleton, bundled }) {
  return `  ${name} ${range}${singleton ? ' singleton' : ''} (${bundled ? 'own copy as fallback' : 'from JupyterLab only'})`;
}

function isLink(file) {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

// Writes lab/oldest/package.json: lab/'s core extensions pinned to one older
// JupyterLab release, every @jupyterlab/* package of that release pinned by
// npm overrides, and @lumino/* and @jupyter/ydoc pinned to what that
// release's own build locked them to (what a pip-installed JupyterLab of
// that release ships in its bundle). Run `npm install` in lab/oldest/ after
// it to refresh package-lock.json.
//
// Usage: node lab/oldest/pin-release.mjs RELEASE DEV_MODE_PACKAGE_JSON YARN_LOCK
//   RELEASE                 e.g. 4.0.0 (extension/compat.json's `oldest`)
//   DEV_MODE_PACKAGE_JSON   JupyterLab's dev_mode/package.json at that release
//                           (`git show vRELEASE:dev_mode/package.json` in a
//                           jupyterlab checkout): its `resolutions` list every
//                           core package at the release's version
//   YARN_LOCK               JupyterLab's yarn.lock at that release
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [release, devModeFile, yarnLockFile] = process.argv.slice(2);
if (!release || !devModeFile || !yarnLockFile) {
  process.stderr.write('Usage: node lab/oldest/pin-release.mjs RELEASE DEV_MODE_PACKAGE_JSON YARN_LOCK\n');
  process.exit(2);
}

const lab = JSON.parse(readFileSync(path.join(here, '..', 'package.json'), 'utf8'));
const devMode = JSON.parse(readFileSync(devModeFile, 'utf8'));
const yarnLock = readFileSync(yarnLockFile, 'utf8');
if (devMode.version !== release) {
  throw new Error(`${devModeFile} is JupyterLab ${devMode.version}, not ${release}`);
}

/** Every @jupyterlab/* package of the release, at its version (the resolutions are `~X.Y.Z`). */
const overrides = {};
for (const [name, range] of Object.entries(devMode.resolutions)) {
  if (name.startsWith('@jupyterlab/')) {
    overrides[name] = range.replace(/^[~^]/, '');
  }
}
// The versions the release's yarn.lock resolved lumino and ydoc to.
for (const [, name, version] of yarnLock.matchAll(
  /^"(@lumino\/[a-z-]+|@jupyter\/ydoc)@npm:[^\n]*\n {2}version: ([^\n]+)/gm,
)) {
  overrides[name] = version.trim();
}

const dependencies = {};
for (const name of Object.keys(lab.dependencies)) {
  if (overrides[name] === undefined) {
    throw new Error(`JupyterLab ${release} has no ${name} (lab/package.json depends on it)`);
  }
  dependencies[name] = overrides[name];
}

const sorted = (object) => Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
const pkg = {
  name: 'jupyter-serverless-lab-oldest',
  version: lab.version,
  private: true,
  description:
    `JupyterLab ${release}, the oldest release jupyterlab-serverless supports, bundled from npm ` +
    "packages with lab/'s sources (node lab/build.mjs --oldest), for the browser check against it.",
  license: lab.license,
  dependencies: sorted(dependencies),
  overrides: sorted(overrides),
  jupyterlab: {
    release,
    extensions: lab.jupyterlab.extensions,
    mimeExtensions: lab.jupyterlab.mimeExtensions,
  },
};
writeFileSync(path.join(here, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
process.stdout.write(
  `lab/oldest/package.json: JupyterLab ${release}, ${Object.keys(dependencies).length} dependencies, ` +
    `${Object.keys(overrides).length} overrides; now run \`npm install\` in lab/oldest/\n`,
);

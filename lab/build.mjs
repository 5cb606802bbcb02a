// Builds a JupyterLab app with rspack.config.mjs: lab/ itself into lab/build/,
// or with --oldest the oldest supported release (lab/oldest/, installed with
// `npm ci --prefix lab/oldest`) into lab/oldest/build/.
// Usage: node lab/build.mjs [--oldest] [--development] [--minimize]
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { rspack } from '@rspack/core';

import { readCompat } from './compat.mjs';
import { APPS, appConfig, installedPackage } from './rspack.config.mjs';

const oldest = process.argv.includes('--oldest');
const app = oldest ? APPS.oldest : APPS.newest;
const mode = process.argv.includes('--development') ? 'development' : 'production';
const minimize = process.argv.includes('--minimize');
const root = path.dirname(APPS.newest.dir);
const release = checkRelease();

const started = performance.now();
const compiler = rspack(appConfig(app, { mode, minimize }));
compiler.run((error, stats) => {
  compiler.close(() => undefined);
  if (error) {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  }
  if (stats.hasErrors()) {
    process.stderr.write(`${stats.toString({ all: false, errors: true, colors: false })}\n`);
    process.exit(2);
  }
  if (stats.hasWarnings()) {
    process.stderr.write(`${stats.toString({ all: false, warnings: true, colors: false })}\n`);
  }
  const strays = strayModules(stats);
  if (strays.length > 0) {
    process.stderr.write(
      `lab: the build took JupyterLab packages from outside ${app.nodeModules.join(', ')}:\n` +
        `${strays.map((file) => `  ${file}`).join('\n')}\n`,
    );
    process.exit(3);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `lab: built JupyterLab ${release} (${mode}${minimize ? ', minified' : ''}) into ` +
      `${path.relative(root, app.buildDir)}/ in ${seconds} s\n`,
  );
});

/**
 * The JupyterLab release the app is pinned to (its @jupyterlab/application);
 * exits with what to do when it is not installed, or when it is not the
 * release extension/compat.json names for it.
 */
function checkRelease() {
  const compat = readCompat(root);
  const expected = oldest ? compat.oldest : compat.newest;
  const installed = installedPackage(app, '@jupyterlab/application');
  if (installed === null) {
    const install = oldest ? 'npm ci --prefix lab/oldest' : 'npm install';
    process.stderr.write(
      `lab: JupyterLab is not installed for ${path.relative(root, app.dir)}/: run \`${install}\`\n`,
    );
    process.exit(1);
  }
  const { version } = installed;
  if (version !== expected) {
    process.stderr.write(
      `lab: ${path.relative(root, app.dir)}/ has JupyterLab ${version} installed, extension/compat.json ` +
        `says ${oldest ? 'oldest' : 'newest'} is ${expected}: update one of them (and \`npm install\` there)\n`,
    );
    process.exit(1);
  }
  return version;
}

/** Modules of @jupyterlab/* or @lumino/* packages bundled from outside the app's node_modules. */
function strayModules(stats) {
  const { modules = [] } = stats.toJson({ all: false, modules: true, nestedModules: true });
  const strays = new Set();
  const visit = (list) => {
    for (const module of list) {
      const file = module.nameForCondition ?? '';
      if (/[\\/]node_modules[\\/]@(jupyterlab|lumino)[\\/]/.test(file)) {
        if (!app.nodeModules.some((dir) => file.startsWith(dir + path.sep))) {
          strays.add(path.relative(root, file));
        }
      }
      visit(module.modules ?? []);
    }
  };
  visit(modules);
  return [...strays].sort();
}

// Builds the JupyterLab application into lab/build/ with rspack.config.mjs.
// Usage: node lab/build.mjs [--development] [--minimize]
import { performance } from 'node:perf_hooks';

import { rspack } from '@rspack/core';

import config from './rspack.config.mjs';

const mode = process.argv.includes('--development') ? 'development' : 'production';
const started = performance.now();
const minimize = process.argv.includes('--minimize');
const configs = config({ minimize }, { mode });
const compiler = rspack(configs);
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
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `lab: built JupyterLab (${mode}${minimize ? ', minified' : ''}) into lab/build/ in ${seconds} s\n`,
  );
});

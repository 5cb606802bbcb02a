// extension/compat.json: the JupyterLab releases the extension supports (`oldest`, the floor its
// shared-module ranges accept; `newest`, the release lab/ is built with) and the Python range the
// wheel declares. Read by lab/build.mjs and lab/build-extension.mjs.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * extension/compat.json under `root`, checked: its `jupyterlab` range is `>=<oldest>,<5`. Writes
 * what is wrong and exits when it is not.
 */
export function readCompat(root) {
  const data = JSON.parse(readFileSync(path.join(root, 'extension', 'compat.json'), 'utf8'));
  if (data.jupyterlab !== `>=${data.oldest},<5`) {
    process.stderr.write(`lab: extension/compat.json: jupyterlab should be ">=${data.oldest},<5"\n`);
    process.exit(1);
  }
  return data;
}

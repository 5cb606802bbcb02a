// Copies the extension's CSS (style/, at the top level of the repo) into
// extension/style/, where the extension's package.json `style` field points:
// the labextension build and `npm pack` of jupyterlab-serverless only see
// files inside extension/. extension/style/ is a build output (gitignored).
// Usage: node scripts/copy-style.mjs
import { cpSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Replaces extension/style/ with a copy of style/. */
export function copyStyle() {
  const target = path.join(root, 'extension', 'style');
  rmSync(target, { recursive: true, force: true });
  cpSync(path.join(root, 'style'), target, { recursive: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  copyStyle();
}

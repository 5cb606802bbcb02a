// Loads TypeScript modules of the repository into a plain Node benchmark: an entry re-exporting
// `names` of each file (paths relative to the repository root) is bundled by esbuild to CommonJS in
// a temporary directory and required; the directory is removed at once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

/** The repository's root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `{ 'path/to/file.ts': ['name', ...] }` -> one object with every name. */
export async function loadTsModules(exportsByFile) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-ts-'));
  try {
    const entry = path.join(tmp, 'entry.ts');
    const bundle = path.join(tmp, 'entry.cjs');
    writeFileSync(
      entry,
      Object.entries(exportsByFile)
        .map(([file, names]) => `export { ${names.join(', ')} } from ${JSON.stringify(path.join(REPO_ROOT, file))};`)
        .join('\n'),
    );
    await build({
      entryPoints: [entry],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'error',
      nodePaths: [path.join(REPO_ROOT, 'node_modules')],
    });
    return createRequire(import.meta.url)(bundle);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

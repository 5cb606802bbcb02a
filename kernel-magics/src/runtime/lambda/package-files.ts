/**
 * Which files go into the runner's deployment package: every file of the
 * runner's directory, and of each dependency what a Node runtime may load
 * (no type declarations, source maps, readmes, tests, nor the browser builds
 * of packages whose `main` is a self-contained Node bundle, as tfjs's are).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import type { PlacedPackage } from './runner-modules';

/** A file and where it goes in the zip. */
export interface PackageFile {
  /** Posix path inside the zip. */
  zipPath: string;
  /** Path on this machine. */
  sourcePath: string;
}

/** Directories of a package Node never loads from (nested node_modules are placed on their own). */
const SKIPPED_DIRS = new Set(['node_modules', 'test', 'tests', '__tests__', '.github']);

/** Files a Node runtime never loads. */
const SKIPPED_FILES = [/\.d\.[cm]?ts$/, /\.map$/, /^(readme|changelog|history)(\.[^/]*)?$/i];

/** Files kept even from a bundle-only package: the licence travels with the code. */
const LICENSE_FILE = /^(licen[cs]e|notice|copying)(\.[^/]*)?$/i;

/** Binary files a Node bundle loads from beside itself (tfjs-backend-wasm's .wasm). */
const BUNDLE_ASSET = /\.(wasm|node)$/;

/** A `require` of a file of the same package (`./x`, `../x`). */
const RELATIVE_REQUIRE = /require\(\s*['"]\.\.?\//;

/** Every file under `dir`, as posix paths relative to it, directories in `skip` left out. */
export function listFiles(dir: string, skip: (name: string) => boolean = () => false): string[] {
  const files: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      // A symbolic link counts as what it points to.
      const isDir =
        entry.isDirectory() || (entry.isSymbolicLink() && statSync(path.join(dir, child)).isDirectory());
      if (isDir) {
        if (!skip(entry.name)) {
          walk(child);
        }
      } else {
        files.push(child);
      }
    }
  };
  walk('');
  return files;
}

/** The file `main` names, as Node resolves it, relative to the package; undefined when there is none. */
function mainFile(packageDir: string, main: string): string | undefined {
  const base = path.posix.normalize(main.replace(/^\.\//, ''));
  return [base, `${base}.js`, `${base}/index.js`].find((candidate) => {
    const full = path.join(packageDir, candidate);
    return existsSync(full) && statSync(full).isFile();
  });
}

/**
 * When the package's `main` is a self-contained Node bundle beside builds
 * for browsers and bundlers (`module`/`browser`, no `exports` that would
 * open other files to `require`), the files Node loads: the manifest, the
 * bundle, the binaries beside it and the licence. Otherwise undefined.
 */
function bundleOnlyFiles(pkg: PlacedPackage): ((file: string) => boolean) | undefined {
  const { main, module, browser, exports } = pkg.manifest;
  if (main === undefined || exports !== undefined || (module === undefined && browser === undefined)) {
    return undefined;
  }
  const bundle = mainFile(pkg.sourceDir, main);
  if (bundle === undefined || RELATIVE_REQUIRE.test(readFileSync(path.join(pkg.sourceDir, bundle), 'utf8'))) {
    return undefined;
  }
  const bundleDir = path.posix.dirname(bundle);
  return (file) =>
    file === 'package.json' ||
    file === bundle ||
    (path.posix.dirname(file) === bundleDir && BUNDLE_ASSET.test(file)) ||
    (!file.includes('/') && LICENSE_FILE.test(file));
}

/** The files of one dependency that go into the zip. */
export function packageFiles(pkg: PlacedPackage): PackageFile[] {
  const keep = bundleOnlyFiles(pkg) ?? (() => true);
  return listFiles(pkg.sourceDir, (name) => SKIPPED_DIRS.has(name))
    .filter((file) => {
      const name = path.posix.basename(file);
      return (file === 'package.json' || !SKIPPED_FILES.some((pattern) => pattern.test(name))) && keep(file);
    })
    .map((file) => ({ zipPath: `${pkg.zipDir}/${file}`, sourcePath: path.join(pkg.sourceDir, file) }));
}

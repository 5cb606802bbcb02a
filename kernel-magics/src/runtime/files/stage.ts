/**
 * Files shipped with `--files`, as Lambda packages them: the files a glob
 * matches in the notebook's directory are copied once into a staged,
 * read-only directory (keyed by their paths, sizes and modification times,
 * so an unchanged set is not copied again), which every invocation of the
 * run sees as its working directory. A changed set is a new key, and new
 * environments, as a new Lambda version would be.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  constants,
  copyFileSync,
  Dirent,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ShippedFiles } from '../backend';
import { GlobError, globNamesDotEntries, globToRegExp } from './glob';

/** Lambda's limit on a function's unzipped code and layers: what a run may ship. */
export const FILES_MAX_BYTES = 250 * 1024 * 1024;

/** Entries a walk of the notebook's directory looks at, at most (a glob over a huge tree fails fast). */
export const FILES_MAX_WALKED = 100_000;

/** Directories never walked: the sandbox binds `node_modules` in already. */
const SKIPPED_DIRS = new Set(['node_modules']);

/** A `--files` pattern that cannot be shipped; the message says what to do. */
export class FilesError extends Error {
  override readonly name = 'FilesError';
}

/** Relative paths (with `/`) of the files under `root` that `glob` matches. */
export function matchFiles(root: string, glob: string): string[] {
  let pattern: RegExp;
  try {
    pattern = globToRegExp(glob);
  } catch (error) {
    throw new FilesError(`--files: ${(error as GlobError).message}`);
  }
  const dots = globNamesDotEntries(glob);
  const matched: string[] = [];
  let walked = 0;
  const walk = (relative: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path.join(root, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      walked += 1;
      if (walked > FILES_MAX_WALKED) {
        throw new FilesError(
          `--files ${glob}: the notebook's directory has over ${FILES_MAX_WALKED} entries to look through; ` +
            `start the pattern with the directory that holds the files (e.g. data/**/*.csv).`,
        );
      }
      if ((!dots && entry.name.startsWith('.')) || SKIPPED_DIRS.has(entry.name)) {
        continue;
      }
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(child);
      } else if (entry.isFile() && pattern.test(child)) {
        matched.push(child);
      }
    }
  };
  // Start below the pattern's literal directories.
  const literal = glob.split('/').slice(0, -1);
  const firstWild = literal.findIndex((segment) => /[*?{]/.test(segment));
  walk((firstWild < 0 ? literal : literal.slice(0, firstWild)).join('/'));
  return matched.sort();
}

/** Where staged file sets live (one directory per key). */
export function stagingRoot(): string {
  return path.join(os.tmpdir(), `serverless-kernel-files-${os.userInfo().uid}`);
}

/**
 * The file sets one kernel staged: under a directory of its own, reused
 * across its runs while the files are unchanged, and removed with the kernel
 * (a set is read-only, so it is made writable first: a user other than root
 * could not remove it otherwise).
 */
export class FileStaging {
  private root?: string;

  /** `parent`: where the kernels' staging directories are (default stagingRoot()). */
  constructor(private readonly parent = stagingRoot()) {}

  /** Stages what `glob` matches under `cwd` (see stageFiles). */
  stage(cwd: string, glob: string): ShippedFiles {
    if (!this.root) {
      mkdirSync(this.parent, { recursive: true, mode: 0o700 });
      removeOrphans(this.parent);
      this.root = mkdtempSync(path.join(this.parent, `kernel-${process.pid}-`));
    }
    return stageFiles(cwd, glob, this.root);
  }

  /** Removes every set staged (environments that used them are gone by then). */
  dispose(): void {
    if (this.root && existsSync(this.root)) {
      makeWritable(this.root);
      rmSync(this.root, { recursive: true, force: true });
    }
    this.root = undefined;
  }
}

/** Removes the sets of kernels that are gone without removing theirs (killed). */
function removeOrphans(parent: string): void {
  for (const name of readdirSync(parent)) {
    const pid = Number(/^kernel-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !processExists(pid)) {
      const dir = path.join(parent, name);
      makeWritable(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Whether a process with this PID exists (EPERM: it does, under another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a staged tree writable by its owner again, so it can be removed. */
function makeWritable(dir: string): void {
  chmodTree(dir, 0o700, 0o600);
}

/**
 * Sets the modes of a tree. A directory is made searchable before its
 * entries are read and closed (if `dirMode` closes it) only after them.
 */
function chmodTree(dir: string, dirMode: number, fileMode: number): void {
  chmodSync(dir, dirMode | 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      chmodTree(full, dirMode, fileMode);
    } else {
      chmodSync(full, fileMode);
    }
  }
  chmodSync(dir, dirMode);
}

/** Makes a staged copy read-only: files r--r--r--, directories r-xr-xr-x. */
function makeReadOnly(dir: string): void {
  chmodTree(dir, 0o555, 0o444);
}

/**
 * Stages the files `glob` matches under `cwd` (see the module comment).
 * @throws FilesError when the glob leaves `cwd`, matches nothing, or matches over FILES_MAX_BYTES.
 */
export function stageFiles(cwd: string, glob: string, root = stagingRoot()): ShippedFiles {
  const paths = matchFiles(cwd, glob);
  if (paths.length === 0) {
    throw new FilesError(
      `--files ${glob} matches no file in ${cwd}; patterns are relative to the notebook's directory.`,
    );
  }
  const key = createHash('sha256');
  let bytes = 0;
  for (const file of paths) {
    const stat = statSync(path.join(cwd, file));
    bytes += stat.size;
    key.update(`${file}\0${stat.size}\0${stat.mtimeMs}\0`);
  }
  if (bytes > FILES_MAX_BYTES) {
    throw new FilesError(
      `--files ${glob} matches ${Math.ceil(bytes / 1048576)} MB, over Lambda's ${FILES_MAX_BYTES / 1048576} MB ` +
        `for a function's files; ship less, or read the rest from a store.`,
    );
  }
  const hash = key.digest('hex');
  const dir = path.join(root, hash.slice(0, 32));
  if (!existsSync(dir)) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    // Staged beside its final name, renamed once complete: a kernel killed half-way leaves no partial set.
    const partial = `${dir}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    for (const file of paths) {
      const target = path.join(partial, file);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(path.join(cwd, file), target, constants.COPYFILE_FICLONE);
    }
    makeReadOnly(partial);
    renameSync(partial, dir);
  }
  const entries = [...new Set(paths.map((file) => file.split('/')[0]))];
  return { hash, dir, entries, paths };
}

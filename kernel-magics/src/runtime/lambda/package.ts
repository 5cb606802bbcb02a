/**
 * The runner's deployment package: a zip of the runner's directory and the
 * node_modules it loads, built deterministically (sorted entries, fixed
 * dates and modes) so that the same inputs give the same bytes and the same
 * CodeSha256, which is how a deploy knows there is nothing to upload.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import JSZip from 'jszip';

import { PACKAGE_ROOT } from '../../package-root';
import { LAMBDA_LIMITS, RUNNER_DEFAULTS } from './config';
import { listFiles, PackageFile, packageFiles } from './package-files';
import { resolveRunnerModules, RUNNER_DEPENDENCIES } from './runner-modules';

/** A built deployment package. */
export interface RunnerPackage {
  /** The zip's bytes. */
  zip: Buffer;
  /** SHA-256 of the zip, base64: what Lambda reports as the function's CodeSha256. */
  sha256: string;
  /** Files in the zip (directories not counted). */
  files: number;
  /** The files' total size, bytes (what Lambda's unzipped limit counts). */
  unzippedBytes: number;
}

/** How to build a package. */
export interface RunnerPackageOptions {
  /** Packages the runner requires (default {@link RUNNER_DEPENDENCIES}). */
  dependencies?: readonly string[];
  /** Where those are resolved from, as `require` would (default: this package's root). */
  resolveFrom?: string;
}

/** Raised when the runner's directory has not been built. */
export class RunnerNotBuiltError extends Error {
  override readonly name = 'RunnerNotBuiltError';
}

/** Raised when a package passes one of Lambda's code size limits. */
export class RunnerPackageTooLargeError extends Error {
  override readonly name = 'RunnerPackageTooLargeError';
}

/** Every entry's date: a fixed instant, so rebuilding the same files gives the same bytes. */
const ENTRY_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
/** Modes Lambda needs: its runtime reads the code as another user. */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** The handler's file, from `file.export`. */
const HANDLER_FILE = `${RUNNER_DEFAULTS.handler.split('.')[0]}.js`;

const MB = 1024 * 1024;

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** The runner directory's own files and the dependencies' files, sorted by zip path. */
function collectFiles(dir: string, options: RunnerPackageOptions): PackageFile[] {
  const own = listFiles(dir).map((file) => ({ zipPath: file, sourcePath: path.join(dir, file) }));
  const modules = resolveRunnerModules(
    options.dependencies ?? RUNNER_DEPENDENCIES,
    options.resolveFrom ?? PACKAGE_ROOT,
  ).flatMap(packageFiles);
  const files = [...own, ...modules].sort((a, b) =>
    a.zipPath < b.zipPath ? -1 : a.zipPath > b.zipPath ? 1 : 0,
  );
  const clash = files.find((file, i) => i > 0 && files[i - 1].zipPath === file.zipPath);
  if (clash) {
    throw new RunnerNotBuiltError(
      `${dir} has its own ${clash.zipPath}; the packager adds the runner's node_modules itself: ` +
        'rebuild the runner with node kernel-magics/scripts/bundle-lambda.mjs.',
    );
  }
  return files;
}

/** The directories the files are in, each once, parents first. */
function directoriesOf(files: readonly PackageFile[]): string[] {
  const dirs = new Set<string>();
  for (const { zipPath } of files) {
    for (let dir = path.posix.dirname(zipPath); dir !== '.'; dir = path.posix.dirname(dir)) {
      dirs.add(`${dir}/`);
    }
  }
  return [...dirs];
}

/** @throws RunnerPackageTooLargeError past Lambda's unzipped limit. */
function checkUnzipped(bytes: number): void {
  if (bytes > LAMBDA_LIMITS.unzippedCodeBytes) {
    throw new RunnerPackageTooLargeError(
      `The runner's package is ${megabytes(bytes)} unzipped, over Lambda's limit of ` +
        `${megabytes(LAMBDA_LIMITS.unzippedCodeBytes)}: remove dependencies the runner does not need ` +
        '(RUNNER_DEPENDENCIES in runtime/lambda/runner-modules.ts) and rebuild it.',
    );
  }
}

/** @throws RunnerPackageTooLargeError past Lambda's direct-upload limit. */
function checkZipped(bytes: number): void {
  if (bytes > LAMBDA_LIMITS.zippedCodeBytes) {
    throw new RunnerPackageTooLargeError(
      `The runner's package is ${megabytes(bytes)} zipped, over Lambda's direct-upload limit of ` +
        `${megabytes(LAMBDA_LIMITS.zippedCodeBytes)}: deploy it through S3 with \`serverless deploy\` ` +
        'in kernel-magics/lambda, or remove dependencies the runner does not need.',
    );
  }
}

/**
 * Zips the runner's directory `dir` (its `handler.js` and what it loads) with
 * the node_modules subset its runtime dependencies need.
 * @throws RunnerNotBuiltError when `dir` holds no built runner.
 * @throws RunnerPackageTooLargeError past Lambda's code size limits.
 */
export async function buildRunnerPackage(
  dir: string,
  options: RunnerPackageOptions = {},
): Promise<RunnerPackage> {
  if (!existsSync(path.join(dir, HANDLER_FILE))) {
    throw new RunnerNotBuiltError(
      `The Lambda runner is not built: ${path.join(dir, HANDLER_FILE)} is missing. ` +
        'Run `node kernel-magics/scripts/bundle-lambda.mjs` (or `npm run build`), then deploy again.',
    );
  }
  const files = collectFiles(dir, options);
  const unzippedBytes = files.reduce((sum, file) => sum + statSync(file.sourcePath).size, 0);
  checkUnzipped(unzippedBytes);
  const archive = new JSZip();
  const entries = [
    ...directoriesOf(files).map((zipPath) => ({ zipPath, sourcePath: undefined })),
    ...files,
  ].sort((a, b) => (a.zipPath < b.zipPath ? -1 : 1));
  for (const { zipPath, sourcePath } of entries) {
    if (sourcePath === undefined) {
      archive.file(zipPath, null, {
        dir: true,
        date: ENTRY_DATE,
        unixPermissions: DIR_MODE,
        createFolders: false,
      });
    } else {
      archive.file(zipPath, readFileSync(sourcePath), {
        date: ENTRY_DATE,
        unixPermissions: FILE_MODE,
        createFolders: false,
      });
    }
  }
  const zip = await archive.generateAsync({
    type: 'nodebuffer',
    compression: 'DEFLATE',
    compressionOptions: { level: 6 },
    platform: 'UNIX',
  });
  checkZipped(zip.length);
  return {
    zip,
    sha256: createHash('sha256').update(zip).digest('base64'),
    files: files.length,
    unzippedBytes,
  };
}

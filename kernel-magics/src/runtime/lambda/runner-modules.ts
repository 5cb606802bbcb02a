/**
 * The node_modules the Lambda runner needs, laid out for its deployment
 * package: each runtime dependency and, recursively, what it depends on,
 * resolved where Node would find them on this machine and placed so that
 * Node finds the same package from every dependent inside the zip.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

/** The packages the runner requires at run time, beside Node's built-ins. */
export const RUNNER_DEPENDENCIES: readonly string[] = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@aws-sdk/client-s3',
  'ioredis',
];

/** The fields of a package.json the packager reads. */
export interface PackageManifest {
  name?: string;
  version?: string;
  main?: string;
  module?: string;
  browser?: unknown;
  exports?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** One package as it goes into the zip. */
export interface PlacedPackage {
  name: string;
  /** The installed package's real directory on this machine. */
  sourceDir: string;
  /** Where it goes in the zip, e.g. `node_modules/@aws-sdk/client-s3` (posix). */
  zipDir: string;
  manifest: PackageManifest;
}

/** Raised when a dependency the runner needs is not installed here. */
export class RunnerDependencyMissingError extends Error {
  override readonly name = 'RunnerDependencyMissingError';
}

/** Reads a package.json. */
export function readManifest(packageDir: string): PackageManifest {
  return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as PackageManifest;
}

/**
 * The real directory of package `name` as Node's `require` finds it from
 * `fromDir` (each ancestor's node_modules in turn); undefined when none has it.
 */
function findInstalled(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) {
        return realpathSync(candidate);
      }
    }
    if (path.dirname(dir) === dir) {
      return undefined;
    }
  }
}

/**
 * The node_modules directories Node searches, nearest first, for a file in
 * `zipDir` (a posix path inside the zip; '' is its root).
 */
function searchedDirs(zipDir: string): string[] {
  const parts = zipDir === '' ? [] : zipDir.split('/');
  const dirs: string[] = [];
  for (let i = parts.length; i >= 0; i--) {
    // Node never looks in node_modules/node_modules.
    if (i > 0 && parts[i - 1] === 'node_modules') {
      continue;
    }
    dirs.push([...parts.slice(0, i), 'node_modules'].join('/'));
  }
  return dirs;
}

/** What a package needs at run time: its dependencies, and the optional and peer ones installed. */
function runtimeDependencies(manifest: PackageManifest): { name: string; required: boolean }[] {
  const required = Object.keys(manifest.dependencies ?? {});
  const optional = [
    ...new Set([
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]),
  ].filter((name) => !required.includes(name));
  return [
    ...required.map((name) => ({ name, required: true })),
    ...optional.map((name) => ({ name, required: false })),
  ];
}

/**
 * Resolves `roots` from `fromDir` and everything they depend on, and places
 * each package (a name and version: npm may install copies of one) in the
 * zip: at the top-level node_modules when no other version is found from its
 * dependent there, else nested under the dependent. Dependents are placed
 * breadth-first, so a nested placement never shadows what a package below
 * it already found.
 * @throws RunnerDependencyMissingError when a (non-optional) dependency is not installed.
 */
export function resolveRunnerModules(roots: readonly string[], fromDir: string): PlacedPackage[] {
  const placed = new Map<string, PlacedPackage>();
  const queue: { zipDir: string; sourceDir: string; needs: { name: string; required: boolean }[] }[] = [
    { zipDir: '', sourceDir: fromDir, needs: roots.map((name) => ({ name, required: true })) },
  ];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const { name, required } of next.needs) {
      const sourceDir = findInstalled(name, next.sourceDir);
      if (sourceDir === undefined) {
        if (required) {
          throw new RunnerDependencyMissingError(
            `${name}, needed by ${next.zipDir || 'the Lambda runner'}, is not installed under ${next.sourceDir}: ` +
              'run npm install.',
          );
        }
        continue;
      }
      const manifest = readManifest(sourceDir);
      const found = searchedDirs(next.zipDir)
        .map((dir) => placed.get(`${dir}/${name}`))
        .find((pkg) => pkg !== undefined);
      // npm installs copies of one version in several places; any of them will do.
      if (found !== undefined && found.manifest.version === manifest.version) {
        continue;
      }
      const zipDir = found ? `${next.zipDir}/node_modules/${name}` : `node_modules/${name}`;
      placed.set(zipDir, { name, sourceDir, zipDir, manifest });
      queue.push({ zipDir, sourceDir, needs: runtimeDependencies(manifest) });
    }
  }
  return [...placed.values()];
}

/**
 * Installs npm tarballs of this repository's workspaces into a fresh prefix
 * without the network, at the versions package-lock.json holds.
 *
 * `npm install --prefix N --offline <tarballs>` cannot do it here: npm 11.19
 * resolves a new tree from full packuments (arborist's build-ideal-tree asks
 * for `fullMetadata`), and the npm cache holds the tarballs of every locked
 * package but the full packuments of only some (the rest were cached in
 * their abbreviated form), so it fails with ENOTCACHED. With a lock, npm
 * needs no packuments: this writes `N/package.json` naming the tarballs and
 * `N/package-lock.json` cut from the repository's lock (the workspaces'
 * runtime dependencies, at the paths Node resolves them from), then runs
 * `npm ci --offline`, which runs the packages' install scripts as a user's
 * install would.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { REPO_ROOT } from './paths';
import { runChecked } from './processes';

/** A package entry of a lockfile (version 3), as far as this helper reads it. */
interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

/** A tarball to install: the npm name of the workspace it was packed from, and its file. */
export interface Tarball {
  name: string;
  file: string;
}

/** Where a lock path's `require` looks next: the directory holding its node_modules. */
function parentOf(lockPath: string): string {
  const at = lockPath.lastIndexOf('/node_modules/');
  return at >= 0 ? lockPath.slice(0, at) : '';
}

/** The lock path `name` resolves to from `from`, as Node's resolution walks up; undefined if none. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let base = from; ; base = parentOf(base)) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) {
      return candidate;
    }
    if (base === '') {
      return undefined;
    }
  }
}

/** The dependencies npm installs for an entry: regular, optional and required peers. */
function installedDependencies(entry: LockEntry): string[] {
  const optionalPeers = entry.peerDependenciesMeta ?? {};
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers[name]?.optional),
  ];
}

/** A copy of `entry` without `keys`. */
function without(entry: LockEntry, keys: readonly string[]): LockEntry {
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !keys.includes(key)));
}

/** The `sha512-...` integrity of a file, as npm writes it. */
function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** Writes `prefix`/package.json and package-lock.json for `tarballs`, cut from the repository's lock. */
function writePrefixLock(prefix: string, tarballs: readonly Tarball[]): void {
  const lockFile = path.join(REPO_ROOT, 'package-lock.json');
  const packages = (JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockEntry> })
    .packages;
  const workspaceOf = (name: string): string => {
    const found = Object.keys(packages).find(
      (p) => p !== '' && !p.includes('node_modules') && packages[p].name === name,
    );
    if (!found) {
      throw new Error(`${lockFile} has no workspace named ${name}`);
    }
    return found;
  };
  const workspaces = new Map(tarballs.map((t) => [t.name, workspaceOf(t.name)]));
  // Every lock path the workspaces' runtime dependencies resolve to, transitively.
  const needed = new Set<string>();
  const pending = [...workspaces.values()];
  for (let from = pending.pop(); from !== undefined; from = pending.pop()) {
    for (const name of installedDependencies(packages[from])) {
      const found = workspaces.has(name) ? undefined : resolveIn(packages, from, name);
      if (found && !needed.has(found)) {
        needed.add(found);
        pending.push(found);
      }
    }
  }
  // A workspace's own nested node_modules move under its package in the prefix.
  const inPrefix = (lockPath: string): string => {
    for (const [name, dir] of workspaces) {
      if (lockPath.startsWith(`${dir}/`)) {
        return `node_modules/${name}${lockPath.slice(dir.length)}`;
      }
    }
    return lockPath;
  };
  const dependencies: Record<string, string> = {};
  const lockPackages: Record<string, LockEntry> = { '': { name: 'install-test', dependencies } };
  for (const tarball of tarballs) {
    const spec = `file:${path.relative(prefix, tarball.file)}`;
    dependencies[tarball.name] = spec;
    // A workspace's entry, its name left out: in node_modules the path names the package.
    const entry = without(packages[workspaces.get(tarball.name) as string], ['name']);
    lockPackages[`node_modules/${tarball.name}`] = {
      ...entry,
      resolved: spec,
      integrity: integrityOf(tarball.file),
    };
  }
  for (const lockPath of [...needed].sort()) {
    // Runtime dependencies of the workspaces; dev flags are the repository's business.
    lockPackages[inPrefix(lockPath)] = without(packages[lockPath], ['dev', 'devOptional']);
  }
  mkdirSync(prefix, { recursive: true });
  writeFileSync(
    path.join(prefix, 'package.json'),
    `${JSON.stringify({ name: 'install-test', private: true, dependencies }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(prefix, 'package-lock.json'),
    `${JSON.stringify({ name: 'install-test', lockfileVersion: 3, requires: true, packages: lockPackages }, null, 2)}\n`,
  );
}

/** Installs `tarballs` into `prefix` with `npm ci --offline` from the lock {@link writePrefixLock} writes. */
export function installTarballsOffline(
  prefix: string,
  tarballs: readonly Tarball[],
  timeoutMs: number,
): void {
  writePrefixLock(prefix, tarballs);
  npmIn(prefix, ['ci', '--offline', '--no-audit', '--no-fund'], timeoutMs);
}

/** Runs npm in `prefix`; throws with its output when it fails. */
export function npmIn(prefix: string, args: string[], timeoutMs: number): void {
  runChecked('npm', [...args, '--prefix', prefix], { cwd: prefix, timeoutMs });
}

/**
 * `npm run version:set -- <version>` (scripts/set-version.mjs) on a copy of
 * the repository's manifests, lock, pyproject and changelog: every version
 * and cross-dependency moves, nothing else does, and npm agrees with the lock
 * it leaves.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT } from '../helpers/paths';

interface Manifest {
  name: string;
  version: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
}
interface Lock {
  version: string;
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
}

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'set-version.mjs');
const WORKSPACES = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest)
  .workspaces as string[];
/** The files the script may change, copied from the repository. */
const FILES = [
  'package.json',
  'package-lock.json',
  'CHANGELOG.md',
  'extension/pyproject.toml',
  ...WORKSPACES.map((dir) => `${dir}/package.json`),
];
/** A pyproject with a literal version, which the script must move (the extension's is dynamic). */
const LITERAL_PYPROJECT = [
  '[build-system]',
  'requires = ["hatchling"]',
  '',
  '[project]',
  'name = "example"',
  'keywords = ["a", "b"]',
  'version = "0.0.1"',
  '',
  '[tool.example]',
  'version = "not this one"',
  '',
].join('\n');

let copy: string;
const read = (file: string): string => readFileSync(path.join(copy, file), 'utf8');
const readJson = <T>(file: string): T => JSON.parse(read(file)) as T;
const setVersion = (...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args, '--root', copy, '--date', '2027-01-02'], {
    encoding: 'utf8',
  });

beforeEach(() => {
  copy = mkdtempSync(path.join(os.tmpdir(), 'jsl-version-'));
  for (const file of FILES) {
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, file), path.join(copy, file));
  }
  mkdirSync(path.join(copy, 'kernel-magics'), { recursive: true });
  writeFileSync(path.join(copy, 'kernel-magics', 'pyproject.toml'), LITERAL_PYPROJECT);
});

afterEach(() => rmSync(copy, { recursive: true, force: true }));

describe('npm run version:set', () => {
  it('sets every package.json, the cross-dependencies and the lock, and changes nothing else in them', () => {
    const lockBefore = readJson<Lock>('package-lock.json');
    const result = setVersion('0.2.0');
    expect([result.status, result.stderr]).toEqual([0, '']);

    const manifests = ['package.json', ...WORKSPACES.map((dir) => `${dir}/package.json`)];
    expect(manifests.map((file) => readJson<Manifest>(file).version)).toEqual(manifests.map(() => '0.2.0'));
    expect(readJson<Manifest>('extension/package.json').dependencies?.['serverless-kernel']).toBe('0.2.0');

    const lock = readJson<Lock>('package-lock.json');
    expect(lock.version).toBe('0.2.0');
    for (const key of ['', ...WORKSPACES]) {
      expect([key, lock.packages[key].version]).toEqual([key, '0.2.0']);
    }
    expect(lock.packages.extension.dependencies?.['serverless-kernel']).toBe('0.2.0');
    // Put back what should have moved: the rest of the lock is as it was.
    lock.version = lockBefore.version;
    for (const key of ['', ...WORKSPACES]) {
      lock.packages[key].version = lockBefore.packages[key].version;
    }
    (lock.packages.extension.dependencies as Record<string, string>)['serverless-kernel'] = lockBefore
      .packages.extension.dependencies?.['serverless-kernel'] as string;
    expect(lock).toEqual(lockBefore);
  });

  it("moves a pyproject's literal [project] version and leaves the extension's dynamic one", () => {
    const extensionPyproject = read('extension/pyproject.toml');
    expect(setVersion('1.0.0-rc.1').status).toBe(0);
    expect(read('kernel-magics/pyproject.toml')).toBe(
      LITERAL_PYPROJECT.replace('version = "0.0.1"', 'version = "1.0.0-rc.1"'),
    );
    expect(read('extension/pyproject.toml')).toBe(extensionPyproject);
  });

  it('turns the changelog\'s "Unreleased" into the release under a new "Unreleased", once', () => {
    const before = read('CHANGELOG.md');
    expect(setVersion('0.2.0').status).toBe(0);
    const after = read('CHANGELOG.md');
    expect(after).toBe(before.replace('## Unreleased\n', '## Unreleased\n\n## 0.2.0 - 2027-01-02\n'));
    expect(setVersion('0.2.0').status).toBe(0);
    expect(read('CHANGELOG.md')).toBe(after);
  });

  it('refuses a version that is not semantic, changing nothing', () => {
    const before = FILES.map(read);
    const result = setVersion('2.0');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('"2.0" is not a semantic version');
    expect(FILES.map(read)).toEqual(before);
  });

  it('leaves a lock npm agrees with (npm install --package-lock-only changes nothing)', () => {
    expect(setVersion('0.2.0').status).toBe(0);
    const written = read('package-lock.json');
    const npm = spawnSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts'], {
      cwd: copy,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect([npm.status, npm.stderr]).toEqual([0, expect.any(String)]);
    expect(read('package-lock.json')).toBe(written);
  }, 60_000);
});

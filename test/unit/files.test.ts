/**
 * `--files`: which files a glob matches in the notebook's directory, and the
 * staged read-only copy every invocation of a run sees (the runtime tests
 * check what a body sees of it, with and without the sandbox).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { globToRegExp } from '../../kernel-magics/src/runtime/files/glob';
import { FileStaging, FilesError, matchFiles, stageFiles } from '../../kernel-magics/src/runtime/files';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-files-'));
  for (const file of [
    'a.csv',
    'b.json',
    'data/x.csv',
    'data/deep/y.csv',
    '.hidden/z.csv',
    'node_modules/m/i.csv',
  ]) {
    mkdirSync(path.dirname(path.join(dir, 'nb', file)), { recursive: true });
    writeFileSync(path.join(dir, 'nb', file), file);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('globs', () => {
  it('match within a segment (*, ?), across segments (**) and alternatives ({a,b})', () => {
    const nb = path.join(dir, 'nb');
    expect(matchFiles(nb, '*.csv')).toEqual(['a.csv']);
    expect(matchFiles(nb, '?.json')).toEqual(['b.json']);
    expect(matchFiles(nb, '**/*.csv')).toEqual(['a.csv', 'data/deep/y.csv', 'data/x.csv']);
    expect(matchFiles(nb, '{a.csv,data/*.csv}')).toEqual(['a.csv', 'data/x.csv']);
    // Dot-entries only when named; node_modules never (the sandbox binds it in already).
    expect(matchFiles(nb, '.hidden/*')).toEqual(['.hidden/z.csv']);
    expect(matchFiles(nb, '**/i.csv')).toEqual([]);
  });

  it('refuse patterns that leave the notebook directory, or whose braces do not close', () => {
    expect(() => globToRegExp('/etc/*')).toThrow(/leaves the notebook's directory/);
    expect(() => globToRegExp('../*.csv')).toThrow(/leaves the notebook's directory/);
    expect(() => globToRegExp('{a,b')).toThrow(/without its }/);
  });
});

describe('staging', () => {
  it('copies the matched files read-only once per content key, and again when one changes', () => {
    const nb = path.join(dir, 'nb');
    const root = path.join(dir, 'staged');
    const first = stageFiles(nb, 'data/**', root);
    expect(first.paths).toEqual(['data/deep/y.csv', 'data/x.csv']);
    expect(first.entries).toEqual(['data']);
    expect(readFileSync(path.join(first.dir, 'data', 'x.csv'), 'utf8')).toBe('data/x.csv');
    expect(statSync(path.join(first.dir, 'data', 'x.csv')).mode & 0o777).toBe(0o444);
    expect(stageFiles(nb, 'data/**', root)).toEqual(first);
    writeFileSync(path.join(nb, 'data', 'x.csv'), 'changed, longer');
    const second = stageFiles(nb, 'data/**', root);
    expect(second.hash).not.toBe(first.hash);
    expect(readFileSync(path.join(second.dir, 'data', 'x.csv'), 'utf8')).toBe('changed, longer');
  });

  it('refuses a glob that matches nothing, saying where it looked', () => {
    expect(() => stageFiles(path.join(dir, 'nb'), '*.parquet', path.join(dir, 'staged'))).toThrow(FilesError);
    expect(() => stageFiles(path.join(dir, 'nb'), '*.parquet', path.join(dir, 'staged'))).toThrow(
      /matches no file in .*nb; patterns are relative to the notebook's directory/,
    );
  });

  it("keeps a kernel's sets in a directory of its own, removed with the kernel, and removes a killed kernel's", () => {
    const parent = path.join(dir, 'staging');
    // A set left behind by a kernel that is gone (PID 2^22 + 1 is past Linux's pid_max), read-only.
    const orphan = path.join(parent, `kernel-${2 ** 22 + 1}-abc`);
    mkdirSync(path.join(orphan, 'set'), { recursive: true });
    const staging = new FileStaging(parent);
    const staged = staging.stage(path.join(dir, 'nb'), '*.csv');
    expect(path.relative(parent, staged.dir)).toMatch(
      new RegExp(`^kernel-${process.pid}-[^/]+/[0-9a-f]{32}$`),
    );
    expect(statSync(staged.dir).mode & 0o777).toBe(0o555);
    expect(existsSync(orphan)).toBe(false);
    staging.dispose();
    expect(readdirSync(parent)).toEqual([]);
  });
});

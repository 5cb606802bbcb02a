/**
 * The extension uses no JupyterLab or Lumino API newer than the oldest
 * release it supports (extension/compat.json `oldest`): its sources
 * type-check against that release's own type definitions, those of
 * lab/oldest/node_modules (every @jupyterlab/* package of the release, and
 * the Lumino it shipped), in place of the newest ones it is built with.
 * scripts/setup.sh installs lab/oldest (`npm ci --prefix lab/oldest`).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

import { REPO_ROOT } from '../helpers/paths';

const EXTENSION = path.join(REPO_ROOT, 'extension');
const OLDEST_MODULES = path.join(REPO_ROOT, 'lab', 'oldest', 'node_modules');

/** The extension's compiler options and files, with @jupyterlab/* and @lumino/* taken from `modules`. */
function programAgainst(modules: string): ts.Program {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(EXTENSION, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) {
    throw new Error('extension/tsconfig.json could not be read');
  }
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    paths: {
      '@jupyterlab/*': [path.join(modules, '@jupyterlab', '*')],
      '@lumino/*': [path.join(modules, '@lumino', '*')],
    },
  };
  return ts.createProgram({ rootNames: parsed.fileNames, options });
}

/** Where each @jupyterlab/* or @lumino/* package the program read comes from, by name. */
function packageDirs(program: ts.Program): Map<string, Set<string>> {
  const dirs = new Map<string, Set<string>>();
  for (const file of program.getSourceFiles()) {
    const match = /^(.*[\\/]node_modules[\\/])(@(?:jupyterlab|lumino)[\\/][^\\/]+)[\\/]/.exec(file.fileName);
    if (match) {
      const name = match[2].replace(/\\/g, '/');
      dirs.set(name, (dirs.get(name) ?? new Set()).add(match[1]));
    }
  }
  return dirs;
}

describe('the extension against the oldest supported JupyterLab', () => {
  const compat = JSON.parse(readFileSync(path.join(EXTENSION, 'compat.json'), 'utf8')) as { oldest: string };

  it('has that release installed in lab/oldest', () => {
    const application = path.join(OLDEST_MODULES, '@jupyterlab', 'application', 'package.json');
    if (!existsSync(application)) {
      throw new Error(
        'lab/oldest is not installed: run `npm ci --prefix lab/oldest` (scripts/setup.sh does)',
      );
    }
    expect((JSON.parse(readFileSync(application, 'utf8')) as { version: string }).version).toBe(
      compat.oldest,
    );
  });

  it("type-checks against that release's @jupyterlab/* and @lumino/* type definitions", () => {
    const program = programAgainst(OLDEST_MODULES);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file
        ? `${path.relative(REPO_ROOT, diagnostic.file.fileName)}:${
            diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1
          }: `
        : '';
      return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
    // Every JupyterLab and Lumino type came from the oldest release, none from the newest.
    const dirs = packageDirs(program);
    expect(dirs.has('@jupyterlab/application')).toBe(true);
    expect(dirs.has('@lumino/widgets')).toBe(true);
    for (const [name, from] of dirs) {
      expect({ name, from: [...from] }).toEqual({ name, from: [OLDEST_MODULES + path.sep] });
    }
  }, 60_000);
});

/**
 * A program's imports bundled for a backend that cannot see the notebook's
 * files (plan/bundle.ts): which modules a compiled body requires, which the
 * runner has, and ProgramBundler on a real notebook directory (a local
 * TypeScript module and a small npm package in node_modules) with esbuild.
 * The bundled programs run as an environment runs them (runtime/program's
 * runner: runInThisContext, then called with captures, element and a
 * `require`), after the notebook's directory is gone.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { runInThisContext } from 'node:vm';

import { analyzeBody } from '../../kernel-magics/src/plan/analyze';
import {
  BundleError,
  importsFilename,
  ProgramBundler,
  requiredModules,
  runnerProvides,
} from '../../kernel-magics/src/plan/bundle';
import { CompiledBody, compileBody } from '../../kernel-magics/src/plan/compile';
import { mapStackFrames } from '../../kernel-magics/src/plan/stack-map';
import type { Program, ProgramResult } from '../../kernel-magics/src/runtime/backend';

type ProgramFn = (
  captures: Record<string, unknown>,
  element: unknown,
  require: NodeJS.Require,
) => Promise<ProgramResult>;

/** A `%%serverless` body compiled as the kernel compiles it. */
function compile(body: string, options: { filename?: string; elementName?: string } = {}): CompiledBody {
  const analysis = analyzeBody(body);
  expect(analysis.syntaxErrors).toEqual([]);
  return compileBody(analysis, {
    captured: analysis.freeIdentifiers.filter((name) => name === 'scale'),
    functions: new Map(),
    tensors: [],
    collectExports: options.elementName === undefined,
    elementName: options.elementName,
    filename: options.filename ?? 'serverless-cell-bundle',
  });
}

/**
 * A `require` that cannot see the notebook's directory (as the runner's
 * cannot): it resolves from this test file, so anything of the notebook's
 * a program uses must be in its bundle.
 */
const runnerRequire = createRequire(__filename);

/** Runs a program as runtime/program/runner.ts does. */
async function run(
  program: Program,
  captures: Record<string, unknown> = {},
  element?: unknown,
): Promise<ProgramResult> {
  const fn = runInThisContext(program.source, { filename: program.filename }) as ProgramFn;
  return fn(captures, element, runnerRequire);
}

/** Writes `text` to `file` and sets its modification time `secondsAhead` from now. */
function writeAt(file: string, text: string, secondsAhead = 0): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  const when = new Date(Date.now() + secondsAhead * 1000);
  utimesSync(file, when, when);
}

describe('the modules a compiled body requires', () => {
  it('lists every imported module once, in order of first use', () => {
    const { program } = compile(
      [
        "import { add } from './lib/math';",
        "import pad from 'fake-pad';",
        "import * as fs from 'node:fs';",
        "import { display } from 'serverless-kernel';",
        "import * as tf from '@tensorflow/tfjs';",
        "import { add as again } from './lib/math';",
        'const s = pad(String(add(1, again(2, 3))), 4) + typeof fs + typeof display + typeof tf;',
        's',
      ].join('\n'),
    );
    expect(requiredModules(program.source)).toEqual([
      './lib/math',
      'fake-pad',
      'node:fs',
      'serverless-kernel',
      '@tensorflow/tfjs',
    ]);
  });

  it('finds a dynamic import() too, which TypeScript turns into require', () => {
    const { program } = compile("const m = await import('fake-pad');\ntypeof m");
    expect(requiredModules(program.source)).toEqual(['fake-pad']);
  });

  it('does not take require() written in a comment or a string for an import', () => {
    const { program } = compile(
      [
        "// was: const pad = require('left-pad'), no longer needed",
        'const note = "call require(\'left-pad\') yourself";',
        "const other = `or require('right-pad')`;",
        'note + other',
      ].join('\n'),
    );
    expect(requiredModules(program.source)).toEqual([]);
  });

  it('leaves to the runner Node built-ins, serverless-kernel and the packages the kernel ships', () => {
    for (const id of [
      'fs',
      'node:fs',
      'node:path',
      'worker_threads',
      'serverless-kernel',
      'serverless-kernel/telemetry',
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
    ]) {
      expect([id, runnerProvides(id)]).toEqual([id, true]);
    }
    for (const id of ['./lib/math', '../shared', 'fake-pad', 'lodash/fp', 'serverless-kernel-extra', 'fsx']) {
      expect([id, runnerProvides(id)]).toEqual([id, false]);
    }
  });
});

describe('ProgramBundler', () => {
  let notebook = '';
  const mathFile = (): string => path.join(notebook, 'lib', 'math.ts');
  const body = [
    "import { add } from './lib/math';",
    "import pad from 'fake-pad';",
    "import * as path from 'node:path';",
    'const joined = path.posix.join("a", "b");',
    'pad(String(add(scale, 2)), 5) + joined',
  ].join('\n');

  beforeEach(() => {
    notebook = mkdtempSync(path.join(os.tmpdir(), 'bundle-notebook-'));
    writeAt(mathFile(), 'export const add = (a: number, b: number): number => a + b;\n', -60);
    writeAt(
      path.join(notebook, 'node_modules', 'fake-pad', 'package.json'),
      JSON.stringify({ name: 'fake-pad', version: '1.0.0', main: 'lib/index.js' }),
      -60,
    );
    writeAt(
      path.join(notebook, 'node_modules', 'fake-pad', 'lib', 'index.js'),
      "const { fill } = require('./fill');\nmodule.exports = (text, width) => fill(width - text.length) + text;\n",
      -60,
    );
    writeAt(
      path.join(notebook, 'node_modules', 'fake-pad', 'lib', 'fill.js'),
      "exports.fill = (n) => '.'.repeat(Math.max(0, n));\n",
      -60,
    );
  });

  afterEach(() => {
    rmSync(notebook, { recursive: true, force: true });
  });

  it('returns a program that requires nothing of the notebook unchanged', async () => {
    const { program } = compile("import * as fs from 'node:fs';\ntypeof fs.readFileSync");
    await expect(new ProgramBundler().bundle(program, notebook)).resolves.toBe(program);
  });

  it("bundles the notebook's module and npm package into a program that runs without them", async () => {
    const { program } = compile(body);
    const bundled = await new ProgramBundler().bundle(program, notebook);
    expect(bundled).not.toBe(program);
    expect(bundled.filename).toBe(program.filename);
    expect(bundled.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(bundled.hash).not.toBe(program.hash);
    // The runner's require could not find them: the bundle carries them.
    rmSync(notebook, { recursive: true, force: true });
    const result = await run(bundled, { scale: 40 });
    expect(result).toMatchObject({ hasValue: true, value: '...42a/b' });
    // The original program, on the same require, cannot.
    await expect(run(program, { scale: 40 })).rejects.toThrow(/Cannot find module '\.\/lib\/math'/);
  });

  it('gives each call of the bundled program fresh captures and element, and the same modules', async () => {
    const { program } = compile("import pad from 'fake-pad';\npad(String(n * scale), 3)", {
      elementName: 'n',
    });
    const bundled = await new ProgramBundler().bundle(program, notebook);
    const fn = runInThisContext(bundled.source, { filename: bundled.filename }) as ProgramFn;
    await expect(fn({ scale: 2 }, 4, runnerRequire)).resolves.toMatchObject({ value: '..8' });
    await expect(fn({ scale: 3 }, 5, runnerRequire)).resolves.toMatchObject({ value: '.15' });
  });

  it('serves an unchanged program from its cache: the same Program, esbuild not run again', async () => {
    const bundler = new ProgramBundler();
    const { program } = compile(body);
    const first = await bundler.bundle(program, notebook);
    expect(await bundler.bundle(program, notebook)).toBe(first);
    // New content under the same modification time: a rebuild would see it; the cache does not look.
    const { mtime } = statSync(mathFile());
    writeFileSync(mathFile(), 'export const add = (a: number, b: number): number => a * b;\n');
    utimesSync(mathFile(), mtime, mtime);
    const cached = await bundler.bundle(program, notebook);
    expect(cached).toBe(first);
    await expect(run(cached, { scale: 40 })).resolves.toMatchObject({ value: '...42a/b' });
  });

  it('bundles again when a module it read changed, and the new code runs', async () => {
    const bundler = new ProgramBundler();
    const { program } = compile(body);
    const first = await bundler.bundle(program, notebook);
    writeAt(mathFile(), 'export const add = (a: number, b: number): number => a * b;\n', 5);
    const second = await bundler.bundle(program, notebook);
    expect(second).not.toBe(first);
    expect(second.hash).not.toBe(first.hash);
    await expect(run(second, { scale: 40 })).resolves.toMatchObject({ value: '...80a/b' });
    // Untouched since: served from the cache again.
    expect(await bundler.bundle(program, notebook)).toBe(second);
  });

  it('bundles again when a file of an npm package changed (one the entry point requires)', async () => {
    const bundler = new ProgramBundler();
    const { program } = compile(body);
    const first = await bundler.bundle(program, notebook);
    writeAt(
      path.join(notebook, 'node_modules', 'fake-pad', 'lib', 'fill.js'),
      "exports.fill = (n) => '_'.repeat(Math.max(0, n));\n",
      5,
    );
    const second = await bundler.bundle(program, notebook);
    expect(second.hash).not.toBe(first.hash);
    await expect(run(second, { scale: 40 })).resolves.toMatchObject({ value: '___42a/b' });
  });

  it('gives the same content the same hash: a rebuild of unchanged files is the same program', async () => {
    const { program } = compile(body);
    const first = await new ProgramBundler().bundle(program, notebook);
    const fresh = await new ProgramBundler().bundle(program, notebook);
    expect(fresh).not.toBe(first);
    expect(fresh.hash).toBe(first.hash);
    expect(fresh.source).toBe(first.source);
  });

  it('keeps bundles of the same program from two notebook directories apart', async () => {
    const bundler = new ProgramBundler();
    const { program } = compile(body);
    const other = mkdtempSync(path.join(os.tmpdir(), 'bundle-notebook-'));
    try {
      writeAt(path.join(other, 'lib', 'math.ts'), 'export const add = (a: number, b: number) => a - b;\n');
      writeAt(
        path.join(other, 'node_modules', 'fake-pad', 'index.js'),
        'module.exports = (t) => `<${t}>`;\n',
      );
      const here = await bundler.bundle(program, notebook);
      const there = await bundler.bundle(program, other);
      await expect(run(here, { scale: 40 })).resolves.toMatchObject({ value: '...42a/b' });
      await expect(run(there, { scale: 40 })).resolves.toMatchObject({ value: '<38>a/b' });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('runs a program whose comment or string mentions a module it does not import', async () => {
    const { program } = compile(
      "// no longer: import pad from 'left-pad';\nconst how = \"require('left-pad')\";\nhow.length",
    );
    const bundled = await new ProgramBundler().bundle(program, notebook);
    expect(bundled).toBe(program);
    await expect(run(bundled)).resolves.toMatchObject({ value: 19 });
  });

  it('refuses a module that is not installed with a BundleError naming it and saying to npm install', async () => {
    const { program } = compile("import { thing } from 'not-installed-pkg';\nthing");
    const error = await new ProgramBundler().bundle(program, notebook).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).name).toBe('BundleError');
    expect((error as BundleError).message).toContain('not-installed-pkg');
    expect((error as BundleError).message).toContain('npm install');
    expect((error as BundleError).message).toContain(notebook);
  });

  it('does not cache a failure: once the package is installed the same program bundles', async () => {
    const bundler = new ProgramBundler();
    const { program } = compile("import later from 'later-pkg';\nlater(2)");
    await expect(bundler.bundle(program, notebook)).rejects.toBeInstanceOf(BundleError);
    writeAt(
      path.join(notebook, 'node_modules', 'later-pkg', 'index.js'),
      'module.exports = (x) => x * 21;\n',
    );
    const bundled = await bundler.bundle(program, notebook);
    await expect(run(bundled)).resolves.toMatchObject({ value: 42 });
  });

  it("keeps the original program's line numbers in stack traces, so errors map to cell lines", async () => {
    const cell = [
      "import { add } from './lib/math';",
      "import pad from 'fake-pad';",
      'const padded = pad(String(add(1, 2)), 3);',
      'function fail(): never {',
      '  throw new Error(`boom ${padded}`);',
      '}',
      'fail();',
    ].join('\n');
    const compiled = compile(cell, { filename: 'serverless-cell-7' });
    const { program } = compiled;
    const throwLine = program.source.split('\n').findIndex((line) => line.includes('throw new Error')) + 1;
    expect(throwLine).toBeGreaterThan(1);
    const bundled = await new ProgramBundler().bundle(program, notebook);
    const thrown = await run(bundled).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(thrown?.message).toBe('boom ..3');
    const stack = thrown?.stack ?? '';
    expect(stack).toMatch(new RegExp(`at fail \\(serverless-cell-7:${throwLine}:\\d+\\)`));
    // Through the kernel's own mapping (the body under a `%%serverless` line): the throw is cell
    // line 6 and the call cell line 8.
    const frames = mapStackFrames(stack, { compiled, bodyLine: 1 });
    expect(frames[0]).toMatch(/at fail \(<cell>:6:\d+\)/);
    expect(frames[1]).toMatch(/<cell>:8:\d+/);
  });

  it('maps a stack through a bundled module to the cell line that called it, never to a line of the bundle', async () => {
    writeAt(
      path.join(notebook, 'node_modules', 'thrower', 'index.js'),
      "module.exports = () => {\n  throw new Error('inside the package');\n};\n",
    );
    const cell = ["import fail from 'thrower';", 'const a = 1;', 'fail();', 'const b = 2;', 'a + b'].join(
      '\n',
    );
    const compiled = compile(cell, { filename: 'serverless-cell-8' });
    const bundled = await new ProgramBundler().bundle(compiled.program, notebook);
    const thrown = await run(bundled).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(thrown?.message).toBe('inside the package');
    // The package's frame names the bundle's own file.
    expect(thrown?.stack?.split('\n')[1]).toContain(`(${importsFilename('serverless-cell-8')}:`);
    const cellFrames = mapStackFrames(thrown?.stack ?? '', { compiled, bodyLine: 1 }).filter((frame) =>
      frame.includes('<cell>:'),
    );
    // As on the embedded runtime, where the package's frames are outside the program: the call, cell line 4.
    expect(cellFrames).toHaveLength(1);
    expect(cellFrames[0]).toMatch(/<cell>:4:\d+/);
  });
});

/**
 * Bundles a program for a backend that cannot see the notebook's files
 * (Lambda): the modules its body requires from the notebook's directory
 * (npm packages, the notebook's own files) are bundled with esbuild into the
 * program, which then carries them. Node built-ins, `serverless-kernel` and
 * the packages the kernel ships (TensorFlow.js) stay outside: the runner has
 * them. Bundles are content-hashed and cached: an unchanged cell whose
 * modules did not change is not bundled again.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import * as path from 'node:path';

import * as ts from '@tslab/typescript-for-tslab';

import type { Program } from '../runtime/backend';
import { isShipped } from '../shipped-packages';

/** Raised when a module a body requires cannot be bundled; the message says what to do. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/**
 * The modules required by name in a compiled program, in order of first use:
 * the `require("...")` calls of its code, found by parsing it (text that
 * only looks like one, in a comment or a string, is not an import).
 */
export function requiredModules(source: string): string[] {
  // Most programs import nothing: no parse for them.
  if (!/\brequire\s*\(/.test(source)) {
    return [];
  }
  const file = ts.createSourceFile('program.js', source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'require' &&
      node.arguments.length === 1 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.add(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return [...found];
}

/** Whether the runner resolves `id` itself (it is not bundled). */
export function runnerProvides(id: string): boolean {
  return isBuiltin(id) || id === 'serverless-kernel' || id.startsWith('serverless-kernel/') || isShipped(id);
}

/**
 * The program with its bundled modules: the original source first (so its
 * lines, which stack traces are mapped from, keep their numbers), then a
 * loader that evaluates the bundle on the first call, with the runner's
 * `require` for what the bundle leaves outside. The bundle is evaluated as
 * a script of its own ({@link importsFilename}): frames inside it must not
 * name the program's file, or the kernel would map them to cell lines.
 */
export function withModules(program: Program, bundle: string): Program {
  const modules =
    '(function (require) { const module = { exports: {} }; const exports = module.exports;\n' +
    bundle +
    '\nreturn module.exports; })';
  const source =
    '((__serverless_program__, __serverless_load__) => { let modules; ' +
    'return (captures, element, require) => { modules ??= __serverless_load__(require); ' +
    'const bundled = Object.assign((id) => (Object.hasOwn(modules, id) ? modules[id] : require(id)), require); ' +
    'return __serverless_program__(captures, element, bundled); }; })(' +
    program.source +
    ',\n(require) => require("node:vm").runInThisContext(' +
    JSON.stringify(modules) +
    ', { filename: ' +
    JSON.stringify(importsFilename(program.filename)) +
    ' })(require))';
  return { hash: createHash('sha256').update(source).digest('hex'), source, filename: program.filename };
}

/** The file name stack frames inside a program's bundled modules show. */
export function importsFilename(programFilename: string): string {
  return `${programFilename}-imports.js`;
}

interface CachedBundle {
  program: Program;
  /** The files esbuild read, with their modification times then. */
  inputs: Map<string, number>;
}

/** Most bundles kept (least recently used dropped). */
const MAX_CACHED = 64;

/** Bundles programs, with a cache (one per kernel). */
export class ProgramBundler {
  private readonly cache = new Map<string, CachedBundle>();
  /** The modules each program needs bundled, by program hash (a parse per program, not per call). */
  private readonly modules = new Map<string, string[]>();

  /** `program` with its modules bundled from `cwd`, or `program` itself when it requires none. */
  async bundle(program: Program, cwd: string): Promise<Program> {
    const ids = this.modulesOf(program);
    if (ids.length === 0) {
      return program;
    }
    const key = `${program.hash}\0${cwd}`;
    const cached = this.cache.get(key);
    if (cached && unchanged(cached.inputs)) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached.program;
    }
    const built = await bundleModules(ids, cwd);
    const entry = { program: withModules(program, built.code), inputs: built.inputs };
    this.cache.set(key, entry);
    dropOldest(this.cache);
    return entry.program;
  }

  private modulesOf(program: Program): string[] {
    let ids = this.modules.get(program.hash);
    if (!ids) {
      ids = requiredModules(program.source).filter((id) => !runnerProvides(id));
      this.modules.set(program.hash, ids);
      dropOldest(this.modules);
    }
    return ids;
  }
}

/** Drops the oldest entries of `map` over MAX_CACHED. */
function dropOldest(map: Map<string, unknown>): void {
  for (const oldest of map.keys()) {
    if (map.size <= MAX_CACHED) {
      break;
    }
    map.delete(oldest);
  }
}

function unchanged(inputs: Map<string, number>): boolean {
  for (const [file, mtimeMs] of inputs) {
    try {
      if (statSync(file).mtimeMs !== mtimeMs) {
        return false;
      }
    } catch {
      return false;
    }
  }
  return true;
}

async function bundleModules(
  ids: string[],
  cwd: string,
): Promise<{ code: string; inputs: Map<string, number> }> {
  // esbuild is a build tool: loaded only when a cell needs bundling.
  const { build } = await import('esbuild');
  const entry = ids
    .map((id) => `exports[${JSON.stringify(id)}] = require(${JSON.stringify(id)});`)
    .join('\n');
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await build({
      stdin: { contents: entry, resolveDir: cwd, sourcefile: 'cell-imports.js', loader: 'js' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      absWorkingDir: cwd,
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['serverless-kernel', 'serverless-kernel/*', '@tensorflow/*'],
    });
  } catch (error) {
    const errors = (error as { errors?: { text: string }[] }).errors ?? [];
    const detail = errors.map((e) => e.text).join('; ') || String(error);
    throw new BundleError(
      `cannot bundle the cell's imports for Lambda (${detail}). Install the package the cell imports in ` +
        `the notebook's directory (${cwd}), e.g. \`npm install <package>\`, or import only what the runner has ` +
        '(Node built-ins, serverless-kernel, @tensorflow/tfjs).',
    );
  }
  const inputs = new Map<string, number>();
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    if (input === 'cell-imports.js' || input.startsWith('<')) {
      continue;
    }
    const file = path.resolve(cwd, input);
    try {
      inputs.set(file, statSync(file).mtimeMs);
    } catch {
      // A virtual input: nothing on disk to watch.
    }
  }
  return { code: result.outputFiles?.[0]?.text ?? '', inputs };
}

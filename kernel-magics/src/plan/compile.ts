/**
 * Compiles a `%%serverless` body into the Program a backend runs: TypeScript
 * transpiled to a CommonJS function (imports become `require`), captured
 * kernel variables bound from the shipped record, the element bound with
 * `--map`, the last expression and the top-level declarations returned.
 * A source map is kept so remote stack frames point at the cell's lines.
 */
import { createHash } from 'node:crypto';
import { SourceMap, SourceMapPayload } from 'node:module';

import * as ts from '@tslab/typescript-for-tslab';

import { Program } from '../runtime/backend';
import { BodyAnalysis } from './analyze';

/** Names the generated code uses; chosen so they cannot clash with a body's own names. */
const RESULT = '__serverless_result__';
const CAPTURES = '__serverless_captures__';
const ELEMENT = '__serverless_element__';

/** What to bind before the body runs. */
export interface CompileOptions {
  /** Captured kernel variables, bound from the shipped record. */
  captured: string[];
  /**
   * Closure-free functions shipped as code, `name -> source` (a function
   * cannot travel as data). They are defined before the body runs.
   */
  functions: Map<string, string>;
  /** Captured tfjs tensors (shipped as `{dtype, shape, values}`), revived with the notebook's tfjs. */
  tensors: string[];
  /** Whether top-level declarations are returned (not with `--map`, where they stay per element). */
  collectExports: boolean;
  /** With `--map`: the name the element is bound to. */
  elementName?: string;
  /** File name in stack traces, e.g. `cell-3`. */
  filename: string;
}

/**
 * Text the compiler inserted into a line of the body (0-based line and
 * column in the instrumented text, which the source map points into).
 */
export interface Insertion {
  line: number;
  column: number;
  length: number;
}

/** A compiled body and what maps its stack frames back to the body's lines. */
export interface CompiledBody {
  program: Program;
  /** Lines the generated header adds before the transpiled body. */
  headerLines: number;
  sourceMap: SourceMap;
  /** Insertions within the body's lines, in text order (columns after them are shifted). */
  insertions: Insertion[];
}

/** Rewrites the body so the last expression and the declarations are recorded. */
function instrument(
  analysis: BodyAnalysis,
  collectExports: boolean,
): { text: string; insertions: Insertion[] } {
  const { sourceFile, lastExpression } = analysis;
  const declaredNames = collectExports ? analysis.declaredNames : [];
  let text = sourceFile.text;
  const insertions: Insertion[] = [];
  if (lastExpression) {
    // Same line count: the expression is wrapped where it stands.
    const start = lastExpression.getStart(sourceFile);
    const end = lastExpression.getEnd();
    const prefix = `(${RESULT}.hasValue = true, ${RESULT}.value = (`;
    const suffix = '))';
    text = `${text.slice(0, start)}${prefix}${text.slice(start, end)}${suffix}${text.slice(end)}`;
    const first = sourceFile.getLineAndCharacterOfPosition(start);
    const last = sourceFile.getLineAndCharacterOfPosition(end);
    insertions.push(
      { line: first.line, column: first.character, length: prefix.length },
      {
        line: last.line,
        column: last.character + (last.line === first.line ? prefix.length : 0),
        length: suffix.length,
      },
    );
  }
  const exports = declaredNames.map((name) => `${name}: ${name}`).join(', ');
  return { text: `${text}\n;${RESULT}.exports = { ${exports} };\n`, insertions };
}

/** Compiles an analysed body. */
export function compileBody(analysis: BodyAnalysis, options: CompileOptions): CompiledBody {
  const instrumented = instrument(analysis, options.collectExports);
  const output = ts.transpileModule(instrumented.text, {
    fileName: `${options.filename}.ts`,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      sourceMap: true,
      inlineSources: false,
    },
  });
  const js = output.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  const bindings: string[] = [];
  if (options.captured.length > 0) {
    bindings.push(`let { ${options.captured.join(', ')} } = ${CAPTURES};`);
  }
  for (const name of options.tensors) {
    bindings.push(
      `${name} = require('@tensorflow/tfjs').tensor(${name}.values, ${name}.shape, ${name}.dtype);`,
    );
  }
  if (options.elementName) {
    bindings.push(`let ${options.elementName} = ${ELEMENT};`);
  }
  const header = [
    `(async function (${CAPTURES}, ${ELEMENT}, require) { 'use strict'; ` +
      `const exports = {}; const module = { exports }; ` +
      `const ${RESULT} = { hasValue: false, value: undefined, exports: {} }; ${bindings.join(' ')}`,
    ...[...options.functions].map(([name, source]) => `const ${name} = (${source});`),
  ].join('\n');
  const headerLines = header.split('\n').length;
  const source = `${header}\n${js}\nreturn ${RESULT}; })`;
  const hash = createHash('sha256').update(source).digest('hex');
  const payload = JSON.parse(
    output.sourceMapText ?? '{"version":3,"sources":[],"names":[],"mappings":""}',
  ) as SourceMapPayload;
  return {
    program: { hash, source, filename: options.filename },
    headerLines,
    sourceMap: new SourceMap(payload),
    insertions: instrumented.insertions,
  };
}

/**
 * The one adapter over tslab's converter and executor (tslab is pinned to an
 * exact version in package.json because these are deep, undocumented imports).
 * Everything tslab-specific lives here (and in ./tslab-shorthand, which
 * works around its emit of shorthand properties); the protocol layer sees a
 * CodeEngine.
 */
import * as path from 'node:path';
import { format } from 'node:util';
import { runInThisContext } from 'node:vm';

import * as tsForTslab from '@tslab/typescript-for-tslab';
import { createConverter, Diagnostic as ConverterDiagnostic, isCompleteCode } from 'tslab/dist/converter';
import { ConverterSet, createExecutor, Executor } from 'tslab/dist/executor';
import * as tslabJupyter from 'tslab/dist/jupyter';

import { CodeEngine, Completion, CompletenessVerdict, ExecutionOutcome, Inspection } from './kernel/engine';
import { CellPhase, SharedCellState } from './kernel/cell-state';
import { MimeBundle } from './kernel/messages';
import { getOutputSink } from './output/sink';
import { PACKAGE_NAME, PACKAGE_ROOT } from './package-root';
import { isShipped, requireWithShipped, shippedScopeDirs } from './shipped-packages';
import { expandEarlierCellShorthands, ShorthandExpansion } from './tslab-shorthand';

/** Messages tslab's executor uses when it stops a cell on an interrupt. */
const INTERRUPT_MESSAGES = ['Script execution was interrupted by `SIGINT`', 'Interrupted asynchronously'];

/**
 * Lets the TypeScript checker resolve `serverless-kernel` from any notebook
 * directory by mapping `<cwd>/node_modules/serverless-kernel/...` onto this
 * package (tslab does the same for `tslab` itself), and the packages the
 * kernel ships (see ./shipped-packages) that the notebook lacks onto the
 * kernel's copies.
 */
function exposePackageTypes(cwd: string): void {
  const sys = tsForTslab.sys;
  // Virtual directory under the notebook's node_modules -> the real one.
  const roots = new Map<string, string>([[path.join(cwd, 'node_modules', PACKAGE_NAME), PACKAGE_ROOT]]);
  for (const [scope, dir] of shippedScopeDirs(cwd)) {
    roots.set(path.join(cwd, 'node_modules', scope), dir);
  }
  const forward = (p: string): string => {
    for (const [virtualRoot, realRoot] of roots) {
      const rel = path.relative(virtualRoot, p);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
        return path.join(realRoot, rel);
      }
    }
    return p;
  };
  const { fileExists, readFile, directoryExists, readDirectory } = sys;
  sys.fileExists = (p) => fileExists.call(sys, forward(p));
  sys.readFile = (p, encoding) => readFile.call(sys, forward(p), encoding);
  sys.directoryExists = (p) => directoryExists.call(sys, forward(p));
  sys.readDirectory = (p, ...rest) => readDirectory.call(sys, forward(p), ...rest);
}

/** Routes `require('serverless-kernel')` in cells to this (already loaded) package, and shipped packages the notebook lacks to the kernel's. */
function hookCellRequire(): void {
  // tslab keeps its hooks on the context's real global, which differs from
  // `globalThis` when this module runs in a sandbox (e.g. under jest).
  const realGlobal = runInThisContext('globalThis') as { __tslab__: { require: NodeJS.Require } };
  const holder = realGlobal.__tslab__;
  const original = holder.require;
  holder.require = new Proxy(original, {
    apply(target, thisArg, args: unknown[]) {
      if (args.length === 1 && args[0] === PACKAGE_NAME) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the cell's require is CommonJS
        return require('./index') as unknown;
      }
      if (args.length === 1 && typeof args[0] === 'string' && isShipped(args[0])) {
        const id = args[0];
        return requireWithShipped(
          ((name: string) => Reflect.apply(target, thisArg, [name]) as unknown) as NodeJS.Require,
          id,
        );
      }
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
}

/** Routes tslab's own display API (`import * as tslab from 'tslab'`) to our sink. */
function hookTslabDisplay(): void {
  const writable = tslabJupyter as unknown as {
    lastWriteDisplayData: (
      data: { data: MimeBundle; metadata: Record<string, string>; transient: { display_id?: string } },
      update: boolean,
    ) => void;
  };
  writable.lastWriteDisplayData = (data, update) => {
    getOutputSink().display(data.data, data.metadata, data.transient.display_id, update);
  };
}

/** Thrown between compiling and running a cell that was interrupted meanwhile. */
class InterruptedBeforeRunError extends Error {
  override readonly name = 'InterruptedBeforeRunError';
}

/**
 * Lazily creates tslab's converters (the browser one is rarely needed) and
 * calls `afterCompile` each time the node converter finished a cell: the
 * moment between kernel code (the compiler) and the cell's own code.
 */
class Converters implements ConverterSet {
  private nodeConverter?: ReturnType<typeof createConverter>;
  private browserConverter?: ReturnType<typeof createConverter>;

  constructor(private readonly afterCompile: () => void) {}

  get node(): ReturnType<typeof createConverter> {
    if (!this.nodeConverter) {
      const converter = createConverter({ isJS: false, isBrowser: false });
      const convert = converter.convert.bind(converter);
      converter.convert = (prevDecl, src) => {
        // Only running a cell goes through here: completion and inspection
        // get the cell as written (its shorthands type-check as they are).
        const expansion = expandEarlierCellShorthands(prevDecl, src);
        const result = convert(prevDecl, expansion.code);
        this.afterCompile();
        return expansion.changed
          ? { ...result, diagnostics: diagnosticsInCell(result.diagnostics, expansion) }
          : result;
      };
      this.nodeConverter = converter;
    }
    return this.nodeConverter;
  }

  get browser(): ReturnType<typeof createConverter> {
    this.browserConverter ??= createConverter({ isJS: false, isBrowser: true });
    return this.browserConverter;
  }

  close(): void {
    this.nodeConverter?.close();
    this.browserConverter?.close();
  }
}

/**
 * Diagnostics of a cell converted with its shorthands written out, at the
 * cell's own positions. Diagnostics of other files (a `fileName`) stay as
 * they are, and so do the messages tslab chains after them, which share
 * their position objects but not their `fileName`.
 */
function diagnosticsInCell(
  diagnostics: ConverterDiagnostic[],
  expansion: ShorthandExpansion,
): ConverterDiagnostic[] {
  const otherFiles = new Set(diagnostics.filter((d) => d.fileName !== undefined).map((d) => d.start));
  return diagnostics.map((diagnostic) =>
    otherFiles.has(diagnostic.start)
      ? diagnostic
      : {
          ...diagnostic,
          start: expansion.toCell(diagnostic.start, 'start'),
          end: expansion.toCell(diagnostic.end, 'end'),
        },
  );
}

/** What tslab's executor reported through the console we gave it. */
interface CellReport {
  value?: unknown;
  hasValue: boolean;
  thrown: unknown[];
  diagnostics: string[];
}

/** TypeScript's "Unterminated template literal." diagnostic. */
const UNTERMINATED_TEMPLATE = 1160;

/**
 * Parse errors tslab's completeness check does not resolve: 'invalid' when
 * more lines cannot fix them, 'incomplete' for an open template literal
 * (which may span lines), undefined when the code parses.
 */
function parseVerdict(code: string): 'invalid' | 'incomplete' | undefined {
  // The compiler tslab already loaded: loading a second one would slow start-up.
  const ts = tsForTslab;
  const file = ts.createSourceFile('cell.tsx', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TSX);
  const diagnostics = (file as unknown as { parseDiagnostics?: { code: number }[] }).parseDiagnostics ?? [];
  if (diagnostics.length === 0) {
    return undefined;
  }
  return diagnostics.some((d) => d.code === UNTERMINATED_TEMPLATE) ? 'incomplete' : 'invalid';
}

/** A CodeEngine backed by tslab. */
export class TslabEngine implements CodeEngine {
  private readonly converters: Converters;
  private readonly executor: Executor;
  private report: CellReport = { hasValue: false, thrown: [], diagnostics: [] };

  /**
   * @param cwd - the directory modules resolve from (the notebook's).
   * @param cellState - where the cell's phase is published for the I/O thread.
   */
  constructor(
    cwd = process.cwd(),
    private readonly cellState = new SharedCellState(),
  ) {
    this.converters = new Converters(() => {
      if (this.cellState.interruptRequested) {
        throw new InterruptedBeforeRunError('Interrupted before the cell ran');
      }
      this.cellState.phase = CellPhase.running;
    });
    exposePackageTypes(cwd);
    this.executor = createExecutor(cwd, this.converters, {
      log: (value: unknown) => {
        // tslab calls log() only with the cell's last-expression value.
        this.report.value = value;
        this.report.hasValue = true;
      },
      error: (message?: unknown, ...rest: unknown[]) => {
        // Diagnostics come as a format string plus arguments; thrown values alone.
        if (rest.length > 0 && typeof message === 'string') {
          this.report.diagnostics.push(format(message, ...rest));
        } else {
          this.report.thrown.push(message);
        }
      },
    });
    hookCellRequire();
    hookTslabDisplay();
    // Warm the converter so the first cell is not slowed by compiler set-up.
    void this.converters.node;
  }

  /** Variables defined by cells so far (tslab's exports object). */
  get locals(): Record<string, unknown> {
    return this.executor.locals as Record<string, unknown>;
  }

  async execute(code: string): Promise<ExecutionOutcome> {
    // Start the cell from a fresh macrotask, with no kernel promise jobs
    // queued behind it: if an interrupt has to terminate a busy loop, V8
    // drops the pending microtasks, and those must all be the cell's own.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const report: CellReport = { hasValue: false, thrown: [], diagnostics: [] };
    this.report = report;
    if (this.cellState.interruptRequested) {
      return { status: 'interrupted' };
    }
    this.cellState.phase = CellPhase.compiling;
    let ok: boolean;
    try {
      ok = await this.executor.execute(code);
    } catch (error) {
      if (error instanceof InterruptedBeforeRunError) {
        return { status: 'interrupted' };
      }
      throw error;
    } finally {
      this.cellState.phase = CellPhase.idle;
    }
    if (report.diagnostics.length > 0) {
      return { status: 'compile-error', diagnostics: report.diagnostics };
    }
    if (!ok || report.thrown.length > 0) {
      const error = report.thrown[0];
      const message = error instanceof Error ? error.message : undefined;
      if (message !== undefined && INTERRUPT_MESSAGES.includes(message)) {
        return { status: 'interrupted' };
      }
      return { status: 'error', error };
    }
    return { status: 'ok', hasValue: report.hasValue, value: report.value };
  }

  complete(code: string, offset: number): Completion {
    const info = this.executor.complete(code, offset);
    return { start: info.start, end: info.end, matches: info.candidates };
  }

  inspect(code: string, offset: number): Inspection | undefined {
    const info = this.executor.inspect(code, offset);
    if (!info) {
      return undefined;
    }
    const signature = (info.displayParts ?? []).map((part) => part.text).join('');
    const docs = (info.documentation ?? []).map((part) => part.text).join('');
    const tags = (info.tags ?? []).map(
      (tag) => `@${tag.name}${tag.text ? ' ' + tag.text.map((part) => part.text).join('') : ''}`,
    );
    const text = [signature, docs, tags.join('\n')].filter((part) => part.length > 0).join('\n\n');
    return text ? { text } : undefined;
  }

  isComplete(code: string): CompletenessVerdict {
    const verdict = isCompleteCode(code);
    if (!verdict.completed) {
      return { status: 'incomplete', indent: verdict.indent ?? '' };
    }
    const parsed = parseVerdict(code);
    return parsed === 'incomplete' ? { status: 'incomplete', indent: '' } : { status: parsed ?? 'complete' };
  }

  interrupt(): void {
    this.executor.interrupt();
  }

  dispose(): void {
    this.executor.close();
  }
}

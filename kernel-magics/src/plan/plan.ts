/**
 * Planning a `%%serverless` run: from the parsed magic and the kernel's
 * variables to the compiled program, the captured data and one request per
 * invocation. Everything that can fail before invoking fails here.
 */
import { randomUUID } from 'node:crypto';
import { serialize } from 'node:v8';

import { InvocationRequest, ShippedFiles } from '../runtime/backend';
import { analyzeBody } from './analyze';
import { findClassInstance } from '../runtime/program/class-instances';
import { planCaptures, serializeCaptures } from './capture';
import { CompiledBody, compileBody } from './compile';
import { DEFAULT_ELEMENT_NAME, embeddedClock, ServerlessCellOptions } from '../magics/options';
import { MagicUsageError } from '../magics/usage';

/** A planned run, ready to dispatch. */
export interface RunPlan {
  runId: string;
  /** Short description of the run (the magic line). */
  label: string;
  /** The execution count of the cell that started the run, when it is stored in history. */
  executionCount?: number;
  options: ServerlessCellOptions;
  compiled: CompiledBody;
  /** 0-based line of the cell where the body starts. */
  bodyLine: number;
  captures: { hash: string; bytes: Uint8Array };
  /** One request per invocation, in input order. */
  requests: InvocationRequest[];
}

/** The body does not parse; diagnostics are in cell lines. */
export class BodySyntaxError extends Error {
  override readonly name = 'BodySyntaxError';
  constructor(readonly diagnostics: string[]) {
    super(diagnostics[0] ?? 'The cell body does not parse');
  }
}

/** Inputs of planning. */
export interface PlanInput {
  options: ServerlessCellOptions;
  body: string;
  bodyLine: number;
  label: string;
  /** The execution count of the cell, when known. */
  executionCount?: number;
  /** The kernel's variables. */
  kernel: Record<string, unknown>;
  /** The elements of `--map` (already evaluated in the kernel). */
  elements?: unknown[];
  /** Sequence number of the run in this kernel (names the program file). */
  sequence: number;
  cwd: string;
  /** Files shipped with `--files`, staged (see runtime/files). */
  files?: ShippedFiles;
}

function serializeElement(element: unknown, index: number, options: ServerlessCellOptions): Uint8Array {
  const instance = findClassInstance(element, `element ${index}`);
  if (instance) {
    throw new MagicUsageError(
      `%%serverless: ${instance.where} of --map ${options.map ?? ''} is an instance of ${instance.className}, ` +
        `and only its data would reach the invocation (its methods would be missing). Map over plain ` +
        `data (the fields you need), and build instances inside the cell.`,
    );
  }
  try {
    return serialize(element);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MagicUsageError(
      `%%serverless: element ${index} of --map ${options.map ?? ''} cannot be sent to an invocation (${detail}). ` +
        `Map over plain data (numbers, strings, arrays, objects, typed arrays).`,
    );
  }
}

/**
 * The name the element of a map is bound to. Without `--as` the body must
 * use the default name: otherwise every element would run (and be billed)
 * without it.
 */
function elementNameOf(options: ServerlessCellOptions, freeIdentifiers: string[]): string {
  if (options.as !== undefined) {
    return options.as;
  }
  if (!freeIdentifiers.includes(DEFAULT_ELEMENT_NAME)) {
    throw new MagicUsageError(
      `%%serverless: the body never uses ${DEFAULT_ELEMENT_NAME}, the name of the element of --map when ` +
        `--as is not given, so no invocation would see its element. Name the element with --as NAME ` +
        `(e.g. --map ${options.map ?? 'xs'} --as x) and use that name in the body.`,
    );
  }
  return DEFAULT_ELEMENT_NAME;
}

/** Plans a run; throws BodySyntaxError, CaptureError or MagicUsageError before anything is invoked. */
export function planRun(input: PlanInput): RunPlan {
  const { options, bodyLine } = input;
  const analysis = analyzeBody(input.body);
  if (analysis.syntaxErrors.length > 0) {
    throw new BodySyntaxError(
      analysis.syntaxErrors.map((d) => d.replace(/^(\d+)/, (line) => String(Number(line) + bodyLine))),
    );
  }
  const elementName =
    input.elements !== undefined ? elementNameOf(options, analysis.freeIdentifiers) : undefined;
  const exclude = new Set(elementName ? [elementName] : []);
  const capturePlan = planCaptures(analysis.freeIdentifiers, input.kernel, exclude);
  const captures = serializeCaptures(capturePlan.data);
  const filename = `serverless-cell-${input.sequence}`;
  const compiled = compileBody(analysis, {
    captured: Object.keys(capturePlan.data),
    functions: capturePlan.functions,
    tensors: capturePlan.tensors,
    collectExports: input.elements === undefined,
    elementName,
    filename,
  });
  const runId = randomUUID();
  const base = {
    runId,
    program: compiled.program,
    captures,
    memoryMb: options.memoryMb,
    timeoutS: options.timeoutS,
    retries: options.retries,
    cwd: input.cwd,
    files: input.files,
    store: options.store,
    cpu: embeddedClock(options),
  };
  const requests: InvocationRequest[] = input.elements
    ? input.elements.map((element, index) => ({
        ...base,
        id: randomUUID(),
        index,
        element: serializeElement(element, index, options),
      }))
    : [{ ...base, id: randomUUID() }];
  return {
    runId,
    label: input.label,
    executionCount: input.executionCount,
    options,
    compiled,
    bodyLine,
    captures,
    requests,
  };
}

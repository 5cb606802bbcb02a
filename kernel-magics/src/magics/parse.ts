/**
 * Parsing `%%serverless [options]` (the first line of a cell) and
 * `%serverless <command> [args]` line magics. Errors name the bad option and
 * say what to do; nothing is invoked for a cell whose magic line does not parse.
 */
import { Command } from 'commander';

import { cellProgram, EXPRESSION_OPTIONS } from './cell-program';
import type { CpuModel } from '../cost/cpu-share';
import { DEFAULT_TUNE_SIZES, TuneGoal } from '../cost/tuning';
import { ServerlessCellOptions, TuneOptions } from './options';
import { MagicSyntaxError, tokenizeMagicLine } from './tokenize';
import { longOptions, MagicUsageError, parseMagicArgs } from './usage';

/** A parsed cell magic: its options, or a request for the help text. */
export type CellMagic =
  | { kind: 'run'; options: ServerlessCellOptions; body: string; bodyLine: number }
  | { kind: 'help'; text: string };

/** The line magic commands. */
export const LINE_COMMANDS = ['config', 'status', 'cost', 'retry', 'deploy', 'help'] as const;
/** One line magic command. */
export type LineCommand = (typeof LINE_COMMANDS)[number];

const CELL_MAGIC = /^%%serverless(?:\s+(.*))?$/;
const LINE_MAGIC = /^%serverless(?:\s+(.*))?$/;

/** True when a cell is a `%%serverless` cell (its first line is the magic). */
export function isServerlessCell(code: string): boolean {
  return CELL_MAGIC.test(code.split('\n', 1)[0].trim());
}

/** The magic line's arguments. @throws MagicUsageError for a quote or expression that does not close. */
function cellArgs(line: string, program: Command): string[] {
  try {
    return tokenizeMagicLine(line, { expressionOptions: EXPRESSION_OPTIONS, options: longOptions(program) });
  } catch (error) {
    if (error instanceof MagicSyntaxError) {
      throw new MagicUsageError(`%%serverless: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Refuses an option given twice in `args` (the cell's own: later ones would
 * silently win over earlier ones).
 */
function refuseRepeats(args: readonly string[], program: Command): void {
  const seen = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const option = program.options.find((o) => o.long === flag);
    if (!option) {
      continue;
    }
    const value = option.required && inline === undefined ? args[++i] : inline;
    seen.set(flag, [...(seen.get(flag) ?? []), value ?? flag]);
  }
  for (const [flag, values] of seen) {
    if (values.length > 1) {
      const given = values.every((v) => v === flag) ? '' : ` (${values.join(', ')})`;
      throw new MagicUsageError(
        `%%serverless: ${flag} is given ${values.length} times${given}; give it once.`,
      );
    }
  }
}

/**
 * Parses a `%%serverless` cell. `bodyLine` is the 0-based line of the cell
 * where the body starts (to map errors back to cell lines). `defaults` are
 * arguments put before the cell's own (session defaults; the cell's win).
 */
export function parseCellMagic(code: string, defaults: readonly string[] = []): CellMagic {
  const newline = code.indexOf('\n');
  const firstLine = (newline < 0 ? code : code.slice(0, newline)).trim();
  const match = CELL_MAGIC.exec(firstLine);
  if (!match) {
    throw new MagicUsageError('A %%serverless cell must start with the line %%serverless [options]');
  }
  const program = cellProgram();
  const args = cellArgs(match[1] ?? '', program);
  refuseRepeats(args, program);
  if (parseMagicArgs(program, [...defaults, ...args]) === 'help') {
    return { kind: 'help', text: program.helpInformation() };
  }
  const opts = program.opts<{
    backend: 'local' | 'lambda';
    memory: number | number[];
    timeout: number;
    concurrency: number;
    retries: number;
    map?: string;
    maxElements: number;
    as?: string;
    out?: string;
    budget?: number;
    dryRun: boolean;
    files?: string;
    outputCap: number;
    store?: string;
    cpu: CpuModel;
    tune: boolean;
    goal?: TuneGoal;
    deadline?: number;
  }>();
  if (opts.as !== undefined && opts.map === undefined) {
    throw new MagicUsageError('%%serverless: --as names the element of --map; add --map <expr>.');
  }
  const tune = tuneOptions(opts, args);
  const body = newline < 0 ? '' : code.slice(newline + 1);
  if (body.trim() === '') {
    throw new MagicUsageError('%%serverless: the cell has no code below the magic line.');
  }
  return {
    kind: 'run',
    body,
    bodyLine: 1,
    options: {
      backend: opts.backend,
      memoryMb: tune ? Math.max(...tune.memoryMb) : (opts.memory as number),
      timeoutS: opts.timeout,
      concurrency: opts.concurrency,
      retries: opts.retries,
      map: opts.map,
      maxElements: opts.maxElements,
      as: opts.as,
      out: opts.out,
      budgetUsd: opts.budget,
      dryRun: opts.dryRun,
      files: opts.files,
      outputCapMb: opts.outputCap,
      store: opts.store,
      cpu: opts.cpu,
      ...(tune ? { tune } : {}),
    },
  };
}

/**
 * `--tune`'s options, checked against the others; undefined without `--tune`.
 * `cellArgs` are the cell's own arguments: a single `--memory` of a session
 * default leaves the grid to tune alone, the cell's own is refused.
 * @throws MagicUsageError for options that need `--tune`, or that contradict it.
 */
function tuneOptions(
  opts: { memory: number | number[]; tune: boolean; goal?: TuneGoal; deadline?: number; dryRun: boolean },
  cellArgs: readonly string[],
): TuneOptions | undefined {
  if (!opts.tune) {
    if (Array.isArray(opts.memory)) {
      throw new MagicUsageError(
        '%%serverless: --memory takes one size in MB; a list of sizes (--memory 128,512,1024) is for --tune.',
      );
    }
    for (const [flag, value] of [
      ['--goal', opts.goal],
      ['--deadline', opts.deadline],
    ] as const) {
      if (value !== undefined) {
        throw new MagicUsageError(
          `%%serverless: ${flag} is an option of --tune; add --tune, or leave it out.`,
        );
      }
    }
    return undefined;
  }
  if (opts.dryRun) {
    throw new MagicUsageError(
      '%%serverless: --tune runs a sample of the body to measure it, --dry-run runs nothing: give one of them.',
    );
  }
  const ownMemory = cellArgs.some((arg) => arg === '--memory' || arg.startsWith('--memory='));
  if (ownMemory && !Array.isArray(opts.memory)) {
    throw new MagicUsageError(
      '%%serverless: --tune compares memory sizes: give them as a list (--memory 128,512,1024), ' +
        `or none for ${DEFAULT_TUNE_SIZES.join(',')}.`,
    );
  }
  const sizes = Array.isArray(opts.memory) ? opts.memory : [...DEFAULT_TUNE_SIZES];
  if (sizes.length < 2) {
    throw new MagicUsageError('%%serverless: --tune compares memory sizes: give at least two.');
  }
  return {
    memoryMb: sizes,
    goal: opts.goal ?? 'cost',
    ...(opts.deadline === undefined ? {} : { deadlineS: opts.deadline }),
  };
}

/** Parses a `%serverless <command> [args]` line; undefined when the line is no line magic. */
export function parseLineMagic(line: string): { command: LineCommand; args: string[] } | undefined {
  const match = LINE_MAGIC.exec(line.trim());
  if (!match) {
    return undefined;
  }
  let words: string[];
  try {
    words = tokenizeMagicLine(match[1] ?? '');
  } catch (error) {
    if (error instanceof MagicSyntaxError) {
      throw new MagicUsageError(`%serverless: ${error.message}`);
    }
    throw error;
  }
  const [command = 'help', ...args] = words;
  if (!(LINE_COMMANDS as readonly string[]).includes(command)) {
    throw new MagicUsageError(
      `%serverless: unknown command '${command}'. Valid commands: ${LINE_COMMANDS.join(', ')}.`,
    );
  }
  return { command: command as LineCommand, args };
}

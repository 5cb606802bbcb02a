/**
 * Parsing `%%serverless [options]` (the first line of a cell) and
 * `%serverless <command>` line magics with commander. Errors name the bad
 * option and list the valid ones; nothing is invoked for a cell whose magic
 * line does not parse.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { DEFAULT_ELEMENT_NAME, LIMITS, ServerlessCellOptions } from './options';
import { MagicSyntaxError, tokenizeMagicLine } from './tokenize';

/** Raised for a magic line that cannot be run; the message says what to do. */
export class MagicUsageError extends Error {
  override readonly name = 'MagicUsageError';
}

/** A parsed cell magic: its options, or a request for the help text. */
export type CellMagic =
  | { kind: 'run'; options: ServerlessCellOptions; body: string; bodyLine: number }
  | { kind: 'help'; text: string };

/** The line magic commands. */
export const LINE_COMMANDS = ['config', 'status', 'cost', 'retry', 'help'] as const;
/** One line magic command. */
export type LineCommand = (typeof LINE_COMMANDS)[number];

const CELL_MAGIC = /^%%serverless(?:\s+(.*))?$/;
const LINE_MAGIC = /^%serverless(?:\s+(.*))?$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function integerIn(name: string, limits: { min: number; max: number }) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || parsed < limits.min || parsed > limits.max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${limits.min} to ${limits.max}.`);
    }
    return parsed;
  };
}

function identifier(value: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new InvalidArgumentError('must be a JavaScript identifier (letters, digits, _ or $).');
  }
  return value;
}

function positiveUsd(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('must be a positive amount in US dollars, e.g. 0.05.');
  }
  return parsed;
}

/** The commander program for the cell magic (built per parse: commander keeps state). */
function cellProgram(): Command {
  const { memoryMb, timeoutS, concurrency, retries } = LIMITS;
  return new Command('%%serverless')
    .description('Run the rest of the cell as serverless invocations.')
    .usage('[options]   (first line of a cell; the cell body follows)')
    .addOption(
      new Option('--backend <name>', 'where invocations run').choices(['local', 'lambda']).default('local'),
    )
    .addOption(
      new Option(
        '--memory <MB>',
        `memory per invocation, ${memoryMb.min}-${memoryMb.max} MB (the price basis)`,
      )
        .argParser(integerIn('--memory', memoryMb))
        .default(memoryMb.default),
    )
    .addOption(
      new Option('--timeout <s>', `seconds before an invocation is killed, ${timeoutS.min}-${timeoutS.max}`)
        .argParser(integerIn('--timeout', timeoutS))
        .default(timeoutS.default),
    )
    .addOption(
      new Option('--concurrency <n>', 'invocations running at once')
        .argParser(integerIn('--concurrency', concurrency))
        .default(concurrency.default),
    )
    .addOption(
      new Option(
        '--retries <n>',
        'retries of crashed invocations (errors thrown by the code are not retried)',
      )
        .argParser(integerIn('--retries', retries))
        .default(retries.default),
    )
    .option('--map <expr>', 'run the body once per element of <expr> (evaluated in the kernel)')
    .addOption(
      new Option('--as <name>', 'name of the element in the body (with --map)')
        .argParser(identifier)
        .default(DEFAULT_ELEMENT_NAME),
    )
    .addOption(
      new Option('--out <name>', "kernel variable that receives the cell's value").argParser(identifier),
    )
    .addOption(new Option('--budget <USD>', 'refuse or stop the run past this spend').argParser(positiveUsd))
    .option('--dry-run', 'estimate duration and cost, invoke nothing', false)
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

/** The usage text of `%%serverless`, listing every option. */
export function cellMagicHelp(): string {
  return cellProgram().helpInformation();
}

function validOptionsList(program: Command): string {
  return program.options.map((o) => o.flags).join(', ');
}

/** Turns a commander error into a message that names the problem and the valid options. */
function usageError(error: CommanderError, program: Command): MagicUsageError {
  const message = error.message.replace(/^error: /, '');
  if (error.code === 'commander.unknownOption' || error.code === 'commander.excessArguments') {
    return new MagicUsageError(
      `%%serverless: ${message}\nValid options: ${validOptionsList(program)}. See %%serverless --help.`,
    );
  }
  return new MagicUsageError(`%%serverless: ${message}\nSee %%serverless --help.`);
}

/** True when a cell is a `%%serverless` cell (its first line is the magic). */
export function isServerlessCell(code: string): boolean {
  return CELL_MAGIC.test(code.split('\n', 1)[0].trim());
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
  let args: string[];
  try {
    args = tokenizeMagicLine(match[1] ?? '');
  } catch (error) {
    throw new MagicUsageError(`%%serverless: ${(error as MagicSyntaxError).message}`);
  }
  const program = cellProgram();
  try {
    program.parse([...defaults, ...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') {
      return { kind: 'help', text: program.helpInformation() };
    }
    if (error instanceof CommanderError) {
      throw usageError(error, program);
    }
    throw error;
  }
  const opts = program.opts<{
    backend: 'local' | 'lambda';
    memory: number;
    timeout: number;
    concurrency: number;
    retries: number;
    map?: string;
    as: string;
    out?: string;
    budget?: number;
    dryRun: boolean;
  }>();
  if (program.getOptionValueSource('as') === 'cli' && opts.map === undefined) {
    throw new MagicUsageError('%%serverless: --as names the element of --map; add --map <expr>.');
  }
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
      memoryMb: opts.memory,
      timeoutS: opts.timeout,
      concurrency: opts.concurrency,
      retries: opts.retries,
      map: opts.map,
      as: opts.as,
      out: opts.out,
      budgetUsd: opts.budget,
      dryRun: opts.dryRun,
    },
  };
}

/** Parses a `%serverless <command> [args]` line; undefined when the line is no line magic. */
export function parseLineMagic(line: string): { command: LineCommand; args: string[] } | undefined {
  const match = LINE_MAGIC.exec(line.trim());
  if (!match) {
    return undefined;
  }
  const [command = 'help', ...args] = tokenizeMagicLine(match[1] ?? '');
  if (!(LINE_COMMANDS as readonly string[]).includes(command)) {
    throw new MagicUsageError(
      `%serverless: unknown command '${command}'. Valid commands: ${LINE_COMMANDS.join(', ')}.`,
    );
  }
  return { command: command as LineCommand, args };
}

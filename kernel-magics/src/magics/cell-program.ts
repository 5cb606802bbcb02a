/**
 * The options of `%%serverless` as a commander program: names, help, limits
 * and the parsers that check each value.
 */
import { Command, InvalidArgumentError, Option } from 'commander';

import { parseMemoryList } from '../cli/deploy-options';
import { CPU_MODELS } from '../cost/cpu-share';
import { TUNE_GOALS } from '../cost/tuning';
import { parseStoreUrl, StoreSpec } from '../exchange/store/url';
import { bindingNameProblem } from './names';
import { LIMITS } from './options';
import { magicProgram, MagicUsageError } from './usage';

/** Options whose value is a TypeScript expression (written as in code, spaces included). */
export const EXPRESSION_OPTIONS = ['--map'] as const;

function integerIn(name: string, limits: { min: number; max: number }) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || parsed < limits.min || parsed > limits.max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${limits.min} to ${limits.max}.`);
    }
    return parsed;
  };
}

/** A parser for a name the option binds (`inInvocation`: bound in the invocation's code). */
function bindingName(inInvocation: boolean) {
  return (value: string): string => {
    const problem = bindingNameProblem(value, inInvocation);
    if (problem !== undefined) {
      throw new InvalidArgumentError(problem);
    }
    return value;
  };
}

function storeUrl(value: string): string {
  let spec: StoreSpec;
  try {
    spec = parseStoreUrl(value.trim());
  } catch (error) {
    // Not an InvalidArgumentError: commander would quote the URL as written, password included.
    throw new MagicUsageError(
      `%%serverless: --store: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (spec.kind === 'embedded' && spec.url !== 'embedded') {
    // Execution environments see one embedded directory (bound into their sandbox): the kernel's.
    throw new InvalidArgumentError(
      `--store: the embedded store is the directory $SERVERLESS_STORE names when the kernel starts ` +
        `(${spec.dir} is not it); write --store embedded, or restart the kernel with SERVERLESS_STORE set.`,
    );
  }
  return spec.url;
}

/** `--memory`: one size, or with `--tune` a comma-separated list of sizes (each within the limits). */
function memorySizes(value: string): number | number[] {
  return value.includes(',')
    ? parseMemoryList(value).sort((a, b) => a - b)
    : integerIn('--memory', LIMITS.memoryMb)(value);
}

function positiveSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('must be a positive number of seconds, e.g. 30 or 2.5.');
  }
  return parsed;
}

function positiveUsd(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('must be a positive amount in US dollars, e.g. 0.05.');
  }
  return parsed;
}

/** The commander program for the cell magic (built per parse: commander keeps state). */
export function cellProgram(): Command {
  const { memoryMb, timeoutS, concurrency, retries, maxElements, outputCapMb } = LIMITS;
  return magicProgram('%%serverless', 'Run the rest of the cell as serverless invocations.')
    .usage('[options]   (first line of a cell; the cell body follows)')
    .addOption(
      new Option('--backend <name>', 'where invocations run').choices(['local', 'lambda']).default('local'),
    )
    .addOption(
      new Option(
        '--memory <MB>',
        `memory per invocation, ${memoryMb.min}-${memoryMb.max} MB (the price basis); with --tune, the sizes to compare (128,512,1024)`,
      )
        .argParser(memorySizes)
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
    .option(
      '--map <expr>',
      'run the body once per element of <expr>, TypeScript evaluated in the kernel (runs to the next option)',
    )
    .addOption(
      new Option(
        '--max-elements <n>',
        `most elements --map reads from <expr>, ${maxElements.min}-${maxElements.max}`,
      )
        .argParser(integerIn('--max-elements', maxElements))
        .default(maxElements.default),
    )
    .addOption(
      new Option('--as <name>', 'name of the element in the body (with --map; default: item)').argParser(
        bindingName(true),
      ),
    )
    .addOption(
      new Option('--out <name>', "kernel variable that receives the cell's value").argParser(
        bindingName(false),
      ),
    )
    .addOption(new Option('--budget <USD>', 'refuse or stop the run past this spend').argParser(positiveUsd))
    .option(
      '--files <glob>',
      "files of the notebook's directory shipped read-only into each invocation's working directory " +
        "(e.g. 'data/*.csv', '{a.json,b/**}')",
    )
    .addOption(
      new Option(
        '--store <URL>',
        "where exchange and models keep state: 'embedded' (default), 'redis://host:port[/db]', 's3://bucket[/prefix]'",
      ).argParser(storeUrl),
    )
    .addOption(
      new Option(
        '--output-cap <MB>',
        `stdout and stderr kept per invocation, ${outputCapMb.min}-${outputCapMb.max} MB (the rest is dropped and counted)`,
      )
        .argParser(integerIn('--output-cap', outputCapMb))
        .default(outputCapMb.default),
    )
    .addOption(
      new Option(
        '--cpu <clock>',
        "whose clock the embedded runtime bills and times out on: 'lambda' (a Lambda's CPU share of --memory, " +
          "1769 MB = one vCPU) or 'host' (this machine's)",
      )
        .choices(CPU_MODELS)
        .default('lambda'),
    )
    .option('--dry-run', 'estimate duration and cost, invoke nothing', false)
    .option(
      '--tune',
      'profile the body (a sample of a --map) at a few memory sizes, predict the rest, and name the --memory to use',
      false,
    )
    .addOption(
      new Option(
        '--goal <goal>',
        'what --tune picks for: the lowest cost, the shortest time, or a balance',
      ).choices(TUNE_GOALS),
    )
    .addOption(
      new Option('--deadline <s>', 'with --tune: the run must finish within this many seconds').argParser(
        positiveSeconds,
      ),
    );
}

/** The usage text of `%%serverless`, listing every option. */
export function cellMagicHelp(): string {
  return cellProgram().helpInformation();
}

/**
 * `%serverless config|status|cost|retry|deploy|help`: every command is one
 * {@link LineMagic} (its summary, its options as a commander program, what
 * it does), parsed the same way; and completion of option names on a
 * `%%serverless` line.
 */
import { Command, Option } from 'commander';

import { DEFAULT_DEPLOY_MEMORY_MB, parseMemoryList } from '../cli/deploy-options';
import { Completion, ExecutionOutcome } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { RunAccounting } from '../run/accounting';
import { ServerlessRunner } from '../run/runner';
import { Backend } from '../runtime/backend';
import { cellMagicHelp, cellProgram } from './cell-program';
import { LambdaSettingsHolder } from './lambda-settings';
import { LineCommand, parseCellMagic } from './parse';
import { CONFIGURABLE, SessionDefaults } from './session-defaults';
import { longOptions, magicProgram, MagicUsageError, parseMagicArgs } from './usage';

/** What the line magics need. */
export interface LineMagicServices {
  runner: ServerlessRunner;
  accounting: RunAccounting;
  /** The backends started so far (status does not start one). */
  startedBackends(): Backend[];
  /** The session's defaults, shared with the runner (`config` sets them). */
  defaults: SessionDefaults;
  /** Where `--backend lambda` invokes (`config --region --function --bucket ...` sets it). */
  lambda: LambdaSettingsHolder;
}

/** What a command runs with. */
interface LineMagicCall {
  /** The command's program, its options parsed. */
  program: Command;
  signal: AbortSignal;
  executionCount?: number;
}

/** One `%serverless` command. */
interface LineMagic {
  summary: string;
  /** Adds the command's options to its program; without, the command takes no arguments. */
  options?(program: Command): void;
  /** Refuses arguments with a message more useful than commander's (before they are parsed). */
  refuse?(args: readonly string[]): void;
  run(call: LineMagicCall): ExecutionOutcome | Promise<ExecutionOutcome>;
}

const OK: ExecutionOutcome = { status: 'ok', hasValue: false };

/** Runs line magics. */
export class LineMagics {
  private readonly commands: Record<LineCommand, LineMagic> = {
    config: {
      summary: "show or set this kernel's defaults for %%serverless cells (a cell's own options win)",
      options: (program) => {
        SessionDefaults.options().forEach((option) => program.addOption(option));
        LambdaSettingsHolder.options().forEach((option) => program.addOption(option));
        program.addOption(new Option('--reset', 'forget every default'));
      },
      refuse: refuseNonDefaults,
      run: ({ program }) => {
        const reset = program.opts<{ reset?: boolean }>().reset === true;
        if (Array.isArray(program.getOptionValue('memory'))) {
          throw new MagicUsageError(
            '%serverless config: --memory takes one size in MB as a default; a list of sizes is for %%serverless --tune.',
          );
        }
        // The Lambda settings first: they are checked here (the defaults were checked by the parse),
        // and a refused line must change nothing.
        this.services.lambda.set(program, { reset });
        if (reset) {
          this.services.defaults.reset();
        }
        this.services.defaults.set(program);
        getOutputSink().stream('stdout', this.services.defaults.describe() + this.services.lambda.describe());
        return OK;
      },
    },
    status: {
      summary: 'execution environments (warm, busy), queue and concurrency of each backend',
      run: () => {
        getOutputSink().stream('stdout', this.statusText());
        return OK;
      },
    },
    cost: {
      summary: "what the kernel's runs cost, per cell run and in total, at AWS Lambda's prices",
      run: () => {
        const report = this.services.accounting.costReport();
        getOutputSink().display({ 'text/plain': report.text, 'text/html': report.html }, {});
        return OK;
      },
    },
    retry: {
      summary: 're-run only the failed elements of the last --map run and fill in its results',
      run: ({ signal, executionCount }) => this.services.runner.retry(signal, executionCount),
    },
    deploy: {
      summary: 'create or update the AWS Lambda runner that %serverless config --backend lambda names',
      options: (program) => {
        program.addOption(
          new Option(
            '--memory <list>',
            "memory sizes to publish, MB, comma-separated (default: the cells' --memory)",
          ).argParser(parseMemoryList),
        );
        program.addOption(
          new Option('--role <arn>', 'execution role (default: create or reuse <function>-runner-role)'),
        );
        program.addOption(
          new Option('--dry-run', 'list what would change and the IAM actions needed; change nothing'),
        );
      },
      run: ({ program, signal }) => this.deploy(program, signal),
    },
    help: {
      summary: 'this help and the %%serverless options',
      run: () => {
        getOutputSink().stream('stdout', `${this.help()}\n${cellMagicHelp()}`);
        return OK;
      },
    },
  };

  constructor(private readonly services: LineMagicServices) {}

  /**
   * Runs one line magic.
   * @throws MagicUsageError for arguments the command does not take.
   */
  async run(
    command: LineCommand,
    args: string[],
    signal: AbortSignal,
    executionCount?: number,
  ): Promise<ExecutionOutcome> {
    const magic = this.commands[command];
    const program = this.program(command);
    magic.refuse?.(args);
    if (parseMagicArgs(program, args) === 'help') {
      getOutputSink().stream('stdout', program.helpInformation());
      return OK;
    }
    return magic.run({ program, signal, executionCount });
  }

  /** Completes option names on a `%%serverless` line (`prefix` is the line up to the cursor). */
  completeOption(prefix: string): Completion {
    const match = /(--?[\w-]*)$/.exec(prefix);
    if (!match) {
      return { start: prefix.length, end: prefix.length, matches: [] };
    }
    const options = [...longOptions(cellProgram()), '--help'];
    const matches = options.filter((option) => option.startsWith(match[1]));
    return { start: prefix.length - match[1].length, end: prefix.length, matches };
  }

  /** The help of the line magics, from their programs. */
  private help(): string {
    const lines = (Object.keys(this.commands) as LineCommand[]).map((command) => {
      const program = this.program(command);
      const options = program.options.filter((o) => o.long !== '--help').map((o) => ` [${o.flags}]`);
      return `  ${command}${options.join('')}\n      ${this.commands[command].summary}`;
    });
    return `%serverless <command>\n${lines.join('\n')}\n`;
  }

  /** The command's commander program (built per use: commander keeps state). */
  private program(command: LineCommand): Command {
    const program = magicProgram(`%serverless ${command}`, this.commands[command].summary);
    this.commands[command].options?.(program);
    return program;
  }

  /** `%serverless deploy`: the runner to the function the Lambda settings name. */
  private async deploy(program: Command, signal: AbortSignal): Promise<ExecutionOutcome> {
    const settings = this.services.lambda.settings();
    if (settings === undefined) {
      throw new MagicUsageError(
        '%serverless deploy: the Lambda backend is not configured. Run ' +
          '%serverless config --backend lambda --region <region> --function <name> --bucket <bucket> first.',
      );
    }
    const options = program.opts<{ memory?: number[]; role?: string; dryRun?: boolean }>();
    const sink = getOutputSink();
    // Loaded here: the AWS SDK is no part of the kernel's start.
    const { deployRunner } = await import('../cli/deploy');
    try {
      await deployRunner({
        settings,
        memorySizes: options.memory ?? [this.defaultMemoryMb()],
        roleArn: options.role,
        dryRun: options.dryRun === true,
        signal,
        write: (line) => sink.stream('stdout', `${line}\n`),
      });
      return OK;
    } catch (error) {
      return signal.aborted ? { status: 'interrupted' } : { status: 'error', error };
    }
  }

  /** The memory the session's cells run with, MB (what an alias is first needed for). */
  private defaultMemoryMb(): number {
    const parsed = parseCellMagic('%%serverless\n0', this.services.defaults.args());
    return parsed.kind === 'run' ? parsed.options.memoryMb : DEFAULT_DEPLOY_MEMORY_MB;
  }

  private statusText(): string {
    const backends = this.services.startedBackends();
    if (backends.length === 0) {
      return 'No backend has started yet: the first %%serverless cell starts one.\n';
    }
    return backends
      .map((backend) => {
        const status = backend.status();
        const envs = status.environments.map(
          (env) => `  ${env.id}  ${env.memoryMb} MB  ${env.state}  ${env.invocations} invocations`,
        );
        return (
          `${backend.name}: ${status.running} running, ${status.queued} queued, concurrency ${status.concurrencyLimit}, ` +
          `${status.environments.length} environment(s)` +
          (status.isolation ? `\n  isolation: ${status.isolation}` : '') +
          `\n${envs.join('\n')}`
        );
      })
      .join('\n')
      .concat('\n');
  }
}

/** Refuses a `%%serverless` option that is per cell, with a message that says which can be defaults. */
function refuseNonDefaults(args: readonly string[]): void {
  const cellOptions = longOptions(cellProgram());
  const refused = args
    .map((arg) => arg.split('=')[0])
    .filter((flag) => cellOptions.includes(flag) && !CONFIGURABLE.includes(flag));
  if (refused.length > 0) {
    throw new MagicUsageError(
      `%serverless config: ${refused.join(', ')} cannot be a default. Defaults can be set for: ${CONFIGURABLE.join(', ')}.`,
    );
  }
}

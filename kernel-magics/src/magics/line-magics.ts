/**
 * `%serverless config|status|cost|retry|help`, and completion of option
 * names on a `%%serverless` line.
 */
import { ExecutionOutcome, Completion } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { Backend } from '../runtime/backend';
import { RunAccounting } from '../run/accounting';
import { cellMagicHelp, LineCommand, MagicUsageError, parseCellMagic } from './parse';
import { ServerlessRunner } from '../run/runner';

/** Options `%serverless config` may set as session defaults. */
const CONFIGURABLE = ['--backend', '--memory', '--timeout', '--concurrency', '--retries'];

/** The help of the line magics. */
export const LINE_MAGIC_HELP = `%serverless <command>
  config [--memory MB] [--timeout S] [--concurrency N] [--retries N] [--backend NAME] [--reset]
             show or set this kernel's defaults for %%serverless cells (a cell's own options win)
  status     execution environments (warm, busy), queue and concurrency of each backend
  cost       what the kernel's runs cost, per cell run and in total, at AWS Lambda's prices
  retry      re-run only the failed elements of the last --map run and fill in its results
  help       this help and the %%serverless options
`;

/** What the line magics need. */
export interface LineMagicServices {
  runner: ServerlessRunner;
  accounting: RunAccounting;
  /** The backends started so far (status does not start one). */
  startedBackends(): Backend[];
}

function ok(): ExecutionOutcome {
  return { status: 'ok', hasValue: false };
}

/** Runs line magics; keeps the session defaults. */
export class LineMagics {
  private defaults: string[] = [];

  constructor(private readonly services: LineMagicServices) {}

  /** Session defaults as `%%serverless` arguments. */
  defaultArgs(): string[] {
    return this.defaults;
  }

  /** Runs one line magic. */
  async run(
    command: LineCommand,
    args: string[],
    signal: AbortSignal,
    executionCount?: number,
  ): Promise<ExecutionOutcome> {
    const sink = getOutputSink();
    switch (command) {
      case 'help':
        sink.stream('stdout', `${LINE_MAGIC_HELP}\n${cellMagicHelp()}`);
        return ok();
      case 'config':
        return this.config(args);
      case 'status':
        sink.stream('stdout', this.statusText());
        return ok();
      case 'cost': {
        const report = this.services.accounting.costReport();
        sink.display({ 'text/plain': report.text, 'text/html': report.html }, {});
        return ok();
      }
      case 'retry':
        return this.services.runner.retry(signal, executionCount);
    }
  }

  /** Completes option names on a `%%serverless` line (`prefix` is the line up to the cursor). */
  completeOption(prefix: string): Completion {
    const match = /(--?[\w-]*)$/.exec(prefix);
    if (!match) {
      return { start: prefix.length, end: prefix.length, matches: [] };
    }
    const options = [...cellMagicHelp().matchAll(/(--[a-z-]+)/g)].map((m) => m[1]);
    const matches = [...new Set(options)].filter((option) => option.startsWith(match[1]));
    return { start: prefix.length - match[1].length, end: prefix.length, matches };
  }

  private config(args: string[]): ExecutionOutcome {
    if (args.includes('--reset')) {
      this.defaults = [];
    } else if (args.length > 0) {
      const flags = args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]);
      const refused = flags.filter((flag) => !CONFIGURABLE.includes(flag));
      if (refused.length > 0) {
        throw new MagicUsageError(
          `%serverless config: ${refused.join(', ')} cannot be a default. Defaults can be set for: ${CONFIGURABLE.join(', ')}.`,
        );
      }
      // Validated with the cell magic's own parser (same limits and messages).
      parseCellMagic('%%serverless\n0', [...this.defaults, ...args]);
      this.defaults = [...this.defaults, ...args];
    }
    const effective = parseCellMagic('%%serverless\n0', this.defaults);
    if (effective.kind !== 'run') {
      return ok();
    }
    const o = effective.options;
    getOutputSink().stream(
      'stdout',
      `%%serverless defaults for this kernel: --backend ${o.backend} --memory ${o.memoryMb} --timeout ${o.timeoutS} ` +
        `--concurrency ${o.concurrency} --retries ${o.retries}` +
        (this.defaults.length > 0 ? `\n(set here: ${this.defaults.join(' ')})` : '') +
        '\n',
    );
    return ok();
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
          `${status.environments.length} environment(s)\n${envs.join('\n')}`
        );
      })
      .join('\n')
      .concat('\n');
  }
}

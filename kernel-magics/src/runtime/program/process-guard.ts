/**
 * What ends an environment from inside: an uncaught exception or unhandled
 * rejection, `process.exit`, a signal the program sends its own process,
 * `process.abort()`. Each is blamed on the invocation whose code did it,
 * found through the async context (a timer or a promise an invocation left
 * behind is still that invocation's after it returned), and reported to the
 * entry point, which tells the kernel before the process ends. As on
 * Lambda, an environment does not go on after an uncaught error: the state
 * the program left it in is unknown, so it is replaced.
 */
import type * as Os from 'node:os';

import type { RemoteError } from '../backend';
import type { OutputOwnership } from './output';
import { toRemoteError } from './remote-error';

/** How the program ended its environment. */
export type EndKind = 'uncaught' | 'exit' | 'signal';

/** What the entry point tells the kernel before the environment ends. */
export interface EndReport {
  kind: EndKind;
  /** The blamed invocation's id (as the entry point gave it to ProgramRunner.run); absent when none ran. */
  invocation?: number;
  /** Whether it still ran: false when code it left behind ended the environment after it returned. */
  running: boolean;
  /** What the program threw, or the error that says how it ended the environment and what to do. */
  error: RemoteError;
}

/** The process's own `exit`, for the entry point's own use (the patched one reports the program's). */
export type ExitProcess = (code?: number) => never;

/** Signals whose default action does not end the process. */
const NOT_ENDING = new Set([
  'SIGCHLD',
  'SIGCONT',
  'SIGURG',
  'SIGWINCH',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
]);

/** An Error named `name` whose stack is taken where the program made the call. */
function endError(name: string, message: string): RemoteError {
  const error = new Error(message);
  // Named before the stack is first read: V8 writes the stack's header then.
  error.name = name;
  return toRemoteError(error);
}

/** The signal's name (`SIGTERM` for undefined, as process.kill defaults), or undefined for 0 or an unknown one. */
function signalName(signal: string | number | undefined): string | undefined {
  if (signal === undefined) {
    return 'SIGTERM';
  }
  if (typeof signal === 'string') {
    return signal;
  }
  // Loaded only for a numbered signal: every module the worker loads at start is part of every cold start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
  const { constants } = require('node:os') as typeof Os;
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return entry?.[0];
}

/** Whether `process.kill(pid, signal)` ends this process: sent to it (or its group), not handled, not harmless. */
function endsThisProcess(pid: number, signal: string | number | undefined): boolean {
  const name = signalName(signal);
  const self = Number(pid) === process.pid || Number(pid) === 0;
  return self && name !== undefined && !NOT_ENDING.has(name) && process.listenerCount(name) === 0;
}

/**
 * Reports (through `report`, synchronously) whatever the program does that
 * ends the process, then lets it end. Installed once, by the entry point of
 * an environment that runs programs in its own process. Returns the
 * process's own `exit`.
 */
export function guardProcess(output: OutputOwnership, report: (report: EndReport) => void): ExitProcess {
  const exit = process.exit.bind(process) as ExitProcess;
  const kill = process.kill.bind(process);
  const abort = process.abort.bind(process);
  let reported = false;
  const end = (kind: EndKind, error: RemoteError): void => {
    if (reported) {
      return;
    }
    reported = true;
    const current = output.current();
    try {
      report({ kind, invocation: current?.invocation, running: current?.running ?? false, error });
    } catch {
      // Nothing to report with: the kernel sees a crash.
    }
  };
  const uncaught = (thrown: unknown): never => {
    end('uncaught', toRemoteError(thrown));
    return exit(1);
  };
  process.on('uncaughtException', uncaught);
  // Handled here rather than turned into an uncaught exception: the async context is the rejecting code's.
  process.on('unhandledRejection', uncaught);
  process.exit = ((code?: number | string | null) => {
    const shown = code ?? process.exitCode ?? 0;
    end(
      'exit',
      endError(
        'ProcessExit',
        `The code called process.exit(${String(shown)}), which ended its environment. A %%serverless ` +
          'body ends by returning (its last expression is the value); throw an Error to fail.',
      ),
    );
    return exit(code === null || code === undefined ? undefined : Number(code));
  }) as typeof process.exit;
  process.kill = ((pid: number, signal?: string | number): true => {
    if (endsThisProcess(pid, signal)) {
      end(
        'signal',
        endError(
          'ProcessKilled',
          `The code sent ${signalName(signal) ?? String(signal)} to its own process, which ended its ` +
            'environment. Return from the body (or throw an Error to fail) instead.',
        ),
      );
    }
    return kill(pid, signal);
  }) as typeof process.kill;
  process.abort = (() => {
    end(
      'signal',
      endError(
        'ProcessKilled',
        'The code called process.abort(), which ended its environment. Throw an Error to fail instead.',
      ),
    );
    return abort();
  }) as typeof process.abort;
  return exit;
}

/**
 * One program contract (test/helpers/program-contract.ts), two entry points:
 * the local worker, a process the local backend talks to over its channel,
 * and runtime/program in this process, as a Lambda handler will run it.
 */
import { ProgramRunner } from '../../kernel-magics/src/runtime/program';
import { LocalBackend } from '../../kernel-magics/src/runtime/local';
import {
  AttemptOutcome,
  InvocationObserver,
  InvocationRequest,
} from '../../kernel-magics/src/runtime/backend';
import { LOCAL_WORKER } from '../helpers/local-runtime';
import { isAlive } from '../helpers/processes';
import { programContract } from '../helpers/program-contract';

describe('the local worker (a process behind its fd 3 channel)', () => {
  programContract(async () => {
    const backend = new LocalBackend({ workerPath: LOCAL_WORKER, concurrency: 1 });
    const never = new AbortController().signal;
    return {
      run: async (request: InvocationRequest, observer: InvocationObserver): Promise<AttemptOutcome> =>
        (await backend.invoke(request, observer, never)).outcome,
      dispose: async () => {
        const pids = backend.pids();
        await backend.dispose();
        expect(pids.filter(isAlive)).toEqual([]);
      },
    };
  });
});

describe('runtime/program in-process (as a Lambda handler runs it)', () => {
  programContract(async () => {
    const runner = new ProgramRunner();
    const restore = runner.output.capture();
    // jest gives this file a process object of its own whose stdout/stderr getters are patched
    // lazily; the program's console writes to the real streams: patch them now.
    void [process.stdout, process.stderr];
    return {
      run: async (request: InvocationRequest, observer: InvocationObserver): Promise<AttemptOutcome> => {
        const inputs = {
          programHash: request.program.hash,
          program: { source: request.program.source, filename: request.program.filename },
          capturesHash: request.captures.hash,
          captures: request.captures.bytes,
          element: request.element,
          cwd: request.cwd,
        };
        runner.keep(inputs);
        const outcome = await runner.run(inputs, {
          stream: (name, text) => observer.onStream?.(name, text),
          display: (data, metadata, displayId, update) =>
            observer.onDisplay?.(data, metadata, displayId, update),
          clear: (wait) => observer.onClear?.(wait),
          event: (event) => observer.onEvent?.(event),
        });
        return outcome.ok
          ? { status: 'ok', result: outcome.result }
          : { status: 'error', error: outcome.error };
      },
      dispose: async () => restore(),
    };
  });
});

/**
 * A kernel without sockets for tests: the real engine (tslab, `%%serverless`,
 * telemetry) over the real embedded runtime, its output and telemetry kept.
 * The output sink is process-wide: the kernel started last receives it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { ExecutionOutcome } from '../../kernel-magics/src/kernel/engine';
import { JsonObject, MimeBundle } from '../../kernel-magics/src/kernel/messages';
import { createKernelEngine } from '../../kernel-magics/src/kernel-engine';
import { setOutputSink } from '../../kernel-magics/src/output/sink';
import { LocalBackend } from '../../kernel-magics/src/runtime/local';
import { TelemetryEvent } from '../../kernel-magics/src/telemetry';
import { TslabEngine } from '../../kernel-magics/src/tslab';
import { LOCAL_WORKER } from './local-runtime';

/** A kernel engine of a test's own. */
export interface EngineKernel {
  run(code: string): Promise<ExecutionOutcome>;
  /** Every telemetry event so far (a test may empty it). */
  readonly events: TelemetryEvent[];
  /** Every display bundle so far. */
  readonly displays: MimeBundle[];
  /** stdout so far. */
  stdout(): string;
  /** Forgets the stdout so far. */
  clearStdout(): void;
  /** Stops the engine and the runtime's workers, removes its directory. */
  dispose(): Promise<void>;
}

/** Starts a kernel engine in a directory of its own, the output sink set to it. */
export function startEngineKernel(): EngineKernel {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-engine-'));
  const events: TelemetryEvent[] = [];
  const displays: MimeBundle[] = [];
  let stdout = '';
  setOutputSink({
    stream: (name, text) => {
      if (name === 'stdout') stdout += text;
    },
    display: (data: MimeBundle, _metadata: JsonObject) => displays.push(data),
    clear: () => undefined,
  });
  let backend: LocalBackend | undefined;
  const { engine, telemetry } = createKernelEngine({
    inner: new TslabEngine(dir),
    comms: new CommRegistry(),
    cwd: dir,
    backends: { local: () => (backend = new LocalBackend({ workerPath: LOCAL_WORKER })) },
  });
  telemetry.subscribe((event) => events.push(event));
  return {
    run: (code) => engine.execute(code),
    events,
    displays,
    stdout: () => stdout,
    clearStdout: () => {
      stdout = '';
    },
    async dispose() {
      engine.dispose();
      await backend?.dispose();
      setOutputSink(undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

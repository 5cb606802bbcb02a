/**
 * Assembles the kernel's engine: the TypeScript engine wrapped by the
 * `%%serverless` machinery (runner, line magics, the backends by name,
 * accounting and the telemetry comm target). Part of the composition root
 * (main.ts loads it once the kernel's sockets are up).
 */
import { CommRegistry } from './kernel/comms';
import { LineMagics } from './magics/line-magics';
import { SessionDefaults } from './magics/session-defaults';
import { setKernelStoreSource } from './exchange/store/configured';
import { closeSharedStores } from './exchange/store/shared';
import { MagicUsageError } from './magics/usage';
import { ScopedEngine, ServerlessEngine } from './magics/serverless-engine';
import { KernelAccounting } from './run/accounting';
import { ServerlessRunner } from './run/runner';
import { TrainingRuns } from './run/training-runs';
import { setTrainingHost } from './training/host';
import { Backend } from './runtime/backend';
import { BackendFactory, BackendRegistry, BackendUnavailableError } from './runtime';
import { FileStaging } from './runtime/files';
import { LocalBackend } from './runtime/local';
import type * as LambdaModule from './runtime/lambda';
import { LambdaConfigError } from './runtime/lambda/errors';
import { LambdaSettingsHolder } from './magics/lambda-settings';
import { TelemetryHub } from './telemetry';

/** Options of the kernel's engine. */
export interface KernelEngineOptions {
  /** The TypeScript engine (tslab). */
  inner: ScopedEngine;
  /** Where the telemetry comm target is registered. */
  comms: CommRegistry;
  /** The notebook's directory. */
  cwd: string;
  /** The backends by name (tests pass their own); default: {@link defaultBackends}. */
  backends?: Readonly<Record<string, BackendFactory>>;
}

/** The backends a kernel runs on by default. */
export function defaultBackends(lambda: LambdaSettingsHolder): Readonly<Record<string, BackendFactory>> {
  return {
    local: () => new LocalBackend(),
    lambda: () => {
      // The AWS SDK loads only when a cell first asks for Lambda: every kernel start would pay for it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
      const { LambdaBackend } = require('./runtime/lambda') as typeof LambdaModule;
      return new LambdaBackend({ settings: () => lambda.settings() });
    },
  };
}

/** The engine with `%%serverless` support, its telemetry hub and its backends. */
export function createKernelEngine(options: KernelEngineOptions): {
  engine: ServerlessEngine;
  telemetry: TelemetryHub;
  backends: BackendRegistry;
} {
  const telemetry = new TelemetryHub();
  telemetry.attach(options.comms);
  const accounting = new KernelAccounting(telemetry);
  const lambda = new LambdaSettingsHolder();
  const backends = new BackendRegistry(options.backends ?? defaultBackends(lambda));
  const backend = (name: string): Backend => {
    try {
      const found = backends.get(name);
      found.preflight?.();
      return found;
    } catch (error) {
      throw error instanceof BackendUnavailableError || error instanceof LambdaConfigError
        ? new MagicUsageError(`%%serverless: ${error.message}`)
        : error;
    }
  };
  // One session-defaults object: `%serverless config` sets it, every cell reads it.
  const defaults = new SessionDefaults();
  setKernelStoreSource(() => defaults.store());
  const files = new FileStaging();
  const runner = new ServerlessRunner({
    scope: options.inner,
    backend,
    accounting,
    cwd: options.cwd,
    defaultArgs: () => defaults.args(),
    files,
  });
  // The engine is made below, with the line magics; the host asks it for the running cell's signal.
  const built: { engine?: ServerlessEngine } = {};
  setTrainingHost(
    new TrainingRuns({
      backend,
      accounting,
      cwd: options.cwd,
      defaultArgs: () => defaults.args(),
      cellSignal: () => built.engine?.cellSignal(),
    }),
  );
  const lineMagics = new LineMagics({
    runner,
    accounting,
    startedBackends: () => backends.all(),
    defaults,
    lambda,
  });
  const engine = new ServerlessEngine(options.inner, runner, lineMagics, () => {
    telemetry.dispose();
    void backends.dispose();
    // At once: the kernel may exit before the backends finish; environments being killed read nothing more.
    files.dispose();
    // Store connections (Redis sockets, S3 agents) would keep the process alive.
    void closeSharedStores();
    setTrainingHost(undefined);
  });
  built.engine = engine;
  telemetry.onCancel(() => {
    engine.cancelRun();
  });
  return { engine, telemetry, backends };
}

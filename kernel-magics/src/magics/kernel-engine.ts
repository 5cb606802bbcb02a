/**
 * Assembles the kernel's engine: the TypeScript engine wrapped by the
 * `%%serverless` machinery (runner, line magics, backends, accounting and the
 * telemetry comm target).
 */
import { CommRegistry } from '../kernel/comms';
import { Backend } from '../runtime/backend';
import { LocalBackend } from '../runtime/local';
import { TelemetryHub } from '../telemetry';
import { KernelAccounting } from '../run/accounting';
import { LineMagics } from './line-magics';
import { BackendName } from './options';
import { MagicUsageError } from './usage';
import { ServerlessRunner } from '../run/runner';
import { ScopedEngine, ServerlessEngine } from './serverless-engine';

/** Options of the kernel's engine. */
export interface KernelEngineOptions {
  /** The TypeScript engine (tslab). */
  inner: ScopedEngine;
  /** Where the telemetry comm target is registered. */
  comms: CommRegistry;
  /** The notebook's directory. */
  cwd: string;
  /** Creates the local backend (tests pass options). */
  createLocalBackend?: () => Backend;
}

/** The engine with `%%serverless` support, and its telemetry hub. */
export function createKernelEngine(options: KernelEngineOptions): {
  engine: ServerlessEngine;
  telemetry: TelemetryHub;
} {
  const telemetry = new TelemetryHub();
  telemetry.attach(options.comms);
  const accounting = new KernelAccounting(telemetry);
  const backends = new Map<BackendName, Backend>();
  const backend = (name: BackendName): Backend => {
    if (name !== 'local') {
      throw new MagicUsageError(
        `%%serverless: --backend ${name} is not available in this version of the kernel; use --backend local.`,
      );
    }
    let created = backends.get(name);
    if (!created) {
      created = options.createLocalBackend?.() ?? new LocalBackend();
      backends.set(name, created);
    }
    return created;
  };
  // The runner reads session defaults from the line magics, which call the runner for retry.
  const defaults: { args: () => string[] } = { args: () => [] };
  const runner = new ServerlessRunner({
    scope: options.inner,
    backend,
    accounting,
    cwd: options.cwd,
    defaultArgs: () => defaults.args(),
  });
  const lineMagics = new LineMagics({ runner, accounting, startedBackends: () => [...backends.values()] });
  defaults.args = () => lineMagics.defaultArgs();
  const engine = new ServerlessEngine(options.inner, runner, lineMagics, () => {
    telemetry.dispose();
    for (const started of backends.values()) {
      void started.dispose();
    }
  });
  telemetry.onCancel(() => {
    engine.cancelRun();
  });
  return { engine, telemetry };
}

/**
 * What the panel's header line says: the connection state as text, and
 * whether its Cancel and Export buttons can act.
 */
import type { TelemetryState } from '../model/state';
import type { ITelemetryModel } from '../tokens';
import { ITrans, NO_TRANS } from './shape';

/** The header text of a connection state. */
export function connectionText(connection: ITelemetryModel.Connection, trans: ITrans = NO_TRANS): string {
  switch (connection) {
    case 'none':
      return trans.__('Not connected');
    case 'opening':
      return trans.__("Waiting for the kernel's history");
    case 'open':
      return trans.__('Live');
    case 'restarting':
      return trans.__('Kernel restarting');
    case 'closed':
      return trans.__('No telemetry in this kernel');
  }
}

/** What the header shows for a model's state and connection. */
export interface HeaderShape {
  readonly text: string;
  /** The tooltip of the state text. */
  readonly title: string;
  readonly canCancel: boolean;
  readonly canExport: boolean;
}

/**
 * The cell run still running, the latest started if the state shows several
 * (a kernel runs one at a time; an older one lost its finished event).
 */
export function runningRunId(state: TelemetryState): string | undefined {
  let running: string | undefined;
  for (const run of state.runs.values()) {
    if (run.state === 'running') {
      running = run.runId;
    }
  }
  return running;
}

/** Whether any cell run is still running. */
export function hasRunning(state: TelemetryState): boolean {
  return runningRunId(state) !== undefined;
}

/** The header of `state` seen through `connection`. */
export function headerShape(
  state: TelemetryState,
  connection: ITelemetryModel.Connection,
  trans: ITrans = NO_TRANS,
): HeaderShape {
  let text = connectionText(connection, trans);
  const title = [trans.__("Serverless telemetry of the current notebook's kernel: %1", text)];
  if (state.truncated > 0) {
    text = trans.__('%1 · %2 oldest events dropped', text, state.truncated);
    title.push(
      trans.__('The kernel kept only its newest events; the %1 oldest are missing.', state.truncated),
    );
  }
  return {
    text,
    title: title.join('\n'),
    canCancel: connection === 'open' && hasRunning(state),
    canExport: state.lastSeq > 0,
  };
}

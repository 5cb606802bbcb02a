/**
 * The status bar item as data: the kernel's live cost, what runs, and the
 * budget warning.
 */
import type { TelemetryState } from '../../model/state';
import type { ITelemetryModel } from '../../tokens';
import { formatUsd } from './common';

/** What the status bar item shows. */
export interface StatusShape {
  /** False when the current kernel has no serverless telemetry (or there is no kernel). */
  readonly visible: boolean;
  /** e.g. `Serverless $0.0123 · 12 running` */
  readonly text: string;
  /** The tooltip, plain text lines. */
  readonly title: string;
  /** Invocations running now. */
  readonly running: number;
  /** True when the total reached the budget warning (`jp-mod-warning`). */
  readonly warning: boolean;
}

/** Options of {@link statusShape}. */
export interface StatusOptions {
  connection: ITelemetryModel.Connection;
  budgetWarningUsd?: number | null;
}

/** Shapes the status bar item of `state`. */
export function statusShape(state: TelemetryState, options: StatusOptions): StatusShape {
  const { connection } = options;
  let running = 0;
  let queued = 0;
  for (const run of state.runs.values()) {
    if (run.state === 'running') {
      running += run.counts.running;
      queued += run.counts.queued;
    }
  }
  const t = state.totals;
  const budget = options.budgetWarningUsd;
  const warning = budget !== undefined && budget !== null && budget > 0 && t.totalUsd >= budget;
  const active = running + queued > 0 ? ` · ${running} running${queued > 0 ? `, ${queued} queued` : ''}` : '';
  const lines = [
    `Serverless cost of this kernel: ${formatUsd(t.totalUsd)} over ${t.invocations} invocation${t.invocations === 1 ? '' : 's'}`,
    `compute ${formatUsd(t.computeUsd)}, INIT ${formatUsd(t.initUsd)}, requests ${formatUsd(t.requestUsd)}, storage ${formatUsd(t.storageUsd)}`,
  ];
  if (warning) {
    lines.push(`Budget warning: the total reached ${formatUsd(budget as number)}.`);
  }
  if (state.truncated > 0) {
    lines.push(`The kernel dropped its ${state.truncated} oldest events.`);
  }
  return {
    visible: connection === 'open' || (connection !== 'none' && state.lastSeq > 0),
    text: `Serverless ${formatUsd(t.totalUsd)}${active}`,
    title: lines.join('\n'),
    running,
    warning,
  };
}

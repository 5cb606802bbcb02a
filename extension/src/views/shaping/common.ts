/**
 * Formatting shared by the views' data shaping.
 */
import type { RunRecord } from '../../model/state';

// The kernel's own USD formatting (from the telemetry protocol), so the
// panel shows the same amounts as `%serverless cost`.
export { formatUsd } from '../../telemetry';

/** What the shaping uses of a JupyterLab TranslationBundle (`translator.load('jupyterlab-serverless')`). */
export interface ITrans {
  __(msgid: string, ...args: unknown[]): string;
}

/** No translation: `%1`, `%2`... replaced by the arguments, as JupyterLab's null translator does. */
export const NO_TRANS: ITrans = {
  __: (msgid: string, ...args: unknown[]) =>
    msgid.replace(/%(\d+)/g, (match, n: string) =>
      Number(n) <= args.length ? String(args[Number(n) - 1]) : match,
    ),
};

/**
 * Escapes text for Plotly's hover labels (a small HTML subset: `<br>`,
 * `<b>`...), so kernel-provided text such as error messages shows as written.
 */
export function escapePlotly(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Bytes for display: the kernel's rendering (`serverless-kernel/telemetry`), so cell and panel agree. */
export { formatBytes } from 'serverless-kernel/telemetry';

/** A duration for display: ms below 10 s, then s, then min. */
export function formatMs(ms: number): string {
  if (ms < 10_000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 600_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Text cut to `width` characters on one line. */
export function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** A short name of a run: its execution count `[n]` when known, else its place `#n`. */
export function runTag(run: RunRecord | undefined, place: number): string {
  return run?.executionCount !== undefined ? `[${run.executionCount}]` : `#${place}`;
}

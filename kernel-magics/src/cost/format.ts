/**
 * Renderings of costs for `%serverless cost` (a table of runs and the kernel
 * total) and of a run's estimate (`--dry-run`), as plain text and HTML. All
 * text that reaches HTML is escaped.
 */
import type { CostEstimate } from './estimator';
import { CostLedger, CostTotals, RunCost } from './ledger';
import { Arch, PriceTable } from './prices';
import { formatUsd } from '../telemetry/protocol/money';

// Shared with the panel (through the telemetry protocol), so both show the same amounts.
export { formatUsd };

/**
 * Classes that keep notebook frontends from typesetting an element's text as
 * LaTeX: JupyterLab runs MathJax 3 over HTML outputs (`mathjax_ignore`), the
 * classic notebook MathJax 2 (`tex2jax_ignore`), and two dollar amounts on a
 * line would otherwise become inline math.
 */
export const NO_MATH_CLASSES = 'mathjax_ignore tex2jax_ignore';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const LABEL_WIDTH = 48;

/** The price basis of a report, one sentence. */
export function priceBasis(prices: PriceTable, arch: Arch): string {
  return (
    `AWS Lambda prices, ${prices.region}, ${arch}: $${prices.lambda.gbSecondUsd[arch]} per GB-s, ` +
    `$${prices.lambda.requestUsdPerMillion.toFixed(2)} per 1M requests, billed per ` +
    `${prices.lambda.billingGranularityMs} ms` +
    (prices.lambda.initBilled ? ', INIT of cold starts billed' : '') +
    `; prices read ${prices.readOn}.`
  );
}

/** What the two duration columns of a cost report count, one sentence. */
export const CLOCK_NOTE =
  "billed ms: Lambda's clock (the embedded runtime counts CPU time at the vCPU share of --memory, " +
  '1769 MB = one vCPU, unless --cpu host; on Lambda, its REPORT); ran ms: wall time where they ran.';

interface Column {
  title: string;
  cell: (run: RunCost) => string;
}

function columns(withStorage: boolean): Column[] {
  const all: (Column | undefined)[] = [
    { title: 'invocations', cell: (r) => String(r.invocations) },
    { title: 'billed ms', cell: (r) => String(r.billedMs + r.initBilledMs) },
    { title: 'ran ms', cell: (r) => String(Math.round(r.measuredMs)) },
    { title: 'compute', cell: (r) => formatUsd(r.computeUsd) },
    { title: 'init', cell: (r) => formatUsd(r.initUsd) },
    { title: 'requests', cell: (r) => formatUsd(r.requestUsd) },
    withStorage ? { title: 'storage', cell: (r) => formatUsd(r.storageUsd) } : undefined,
    { title: 'total', cell: (r) => formatUsd(r.totalUsd) },
  ];
  return all.filter((column): column is Column => column !== undefined);
}

/** A one-line label: whitespace runs collapsed, cut at `width` characters. */
function oneLine(label: string, width: number): string {
  const flat = label.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function totalLine(total: CostTotals): string {
  return (
    `Kernel total: ${formatUsd(total.totalUsd)} (compute ${formatUsd(total.computeUsd)}, ` +
    `init ${formatUsd(total.initUsd)}, requests ${formatUsd(total.requestUsd)}, ` +
    `storage ${formatUsd(total.storageUsd)}) over ${total.invocations} ` +
    `invocation${total.invocations === 1 ? '' : 's'}.`
  );
}

/** `%serverless cost` as plain text: a table of runs, the kernel total and the price basis. */
export function costReportText(ledger: CostLedger, prices: PriceTable, arch: Arch): string {
  const runs = ledger.runs();
  if (runs.length === 0) {
    return `No serverless runs yet.\n${priceBasis(prices, arch)}\n`;
  }
  const cols = columns(runs.some((r) => r.storageUsd > 0));
  const rows = [
    ['run', ...cols.map((c) => c.title)],
    ...runs.map((run) => [oneLine(run.label, LABEL_WIDTH), ...cols.map((c) => c.cell(run))]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n${totalLine(ledger.total())}\n${CLOCK_NOTE}\n${priceBasis(prices, arch)}\n`;
}

/** `%serverless cost` as HTML (every text escaped). */
export function costReportHtml(ledger: CostLedger, prices: PriceTable, arch: Arch): string {
  const runs = ledger.runs();
  const note = `<p class="jp-serverless-Cost-basis">${escapeHtml(priceBasis(prices, arch))}</p>`;
  if (runs.length === 0) {
    return `<div class="jp-serverless-Cost ${NO_MATH_CLASSES}"><p>No serverless runs yet.</p>${note}</div>`;
  }
  const cols = columns(runs.some((r) => r.storageUsd > 0));
  const num = ' style="text-align:right"';
  const head = `<tr><th style="text-align:left">run</th>${cols
    .map((c) => `<th${num}>${escapeHtml(c.title)}</th>`)
    .join('')}</tr>`;
  const body = runs
    .map(
      (run) =>
        `<tr><td style="text-align:left" title="${escapeHtml(run.label)}">` +
        `${escapeHtml(oneLine(run.label, LABEL_WIDTH))}</td>` +
        cols.map((c) => `<td${num}>${escapeHtml(c.cell(run))}</td>`).join('') +
        '</tr>',
    )
    .join('');
  return (
    `<div class="jp-serverless-Cost ${NO_MATH_CLASSES}">` +
    `<table class="jp-serverless-Cost-table"><thead>${head}</thead><tbody>${body}</tbody></table>` +
    `<p class="jp-serverless-Cost-total">${escapeHtml(totalLine(ledger.total()))}</p>` +
    `<p class="jp-serverless-Cost-clock">${escapeHtml(CLOCK_NOTE)}</p>${note}</div>`
  );
}

/** The run settings an estimate line names. */
export interface EstimateSettings {
  memoryMb: number;
  timeoutS: number;
  concurrency: number;
}

/** The `--dry-run` estimate, one line of plain text. */
export function estimateText(estimate: CostEstimate, settings: EstimateSettings): string {
  const n = estimate.invocations;
  const p = estimate.prediction;
  const basis =
    estimate.basis === 'measured'
      ? `measured: median ${estimate.perInvocationMs.toFixed(1)} ms over ${estimate.samples} earlier ` +
        `invocation${estimate.samples === 1 ? '' : 's'} of this body`
      : estimate.basis === 'modelled' && p
        ? `modelled: ${estimate.perInvocationMs.toFixed(1)} ms per invocation from ${p.samples} earlier ` +
          `invocation${p.samples === 1 ? '' : 's'} at ${p.fromMemoryMb} MB (median ${p.cpuMs.toFixed(1)} ms on the CPU, ` +
          `${p.waitMs.toFixed(1)} ms waiting), the CPU time at ${settings.memoryMb} MB's share of a vCPU`
        : `worst case: every invocation runs its full --timeout of ${settings.timeoutS} s`;
  const memoryNote =
    p?.peakMb !== undefined && p.peakMb > settings.memoryMb
      ? `. It used up to ${Math.ceil(p.peakMb)} MB at ${p.fromMemoryMb} MB: it may run out of memory at ${settings.memoryMb} MB`
      : '';
  return (
    `Estimate: ${n} invocation${n === 1 ? '' : 's'} x ${settings.memoryMb} MB, ` +
    `~${(estimate.wallMs / 1000).toFixed(2)} s at concurrency ${settings.concurrency}, ` +
    `${formatUsd(estimate.costUsd)} (${basis})${memoryNote}`
  );
}

/** The `--dry-run` estimate as HTML (escaped). */
export function estimateHtml(estimate: CostEstimate, settings: EstimateSettings): string {
  return `<p class="jp-serverless-Cost-estimate ${NO_MATH_CLASSES}">${escapeHtml(estimateText(estimate, settings))}</p>`;
}

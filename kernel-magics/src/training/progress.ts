/**
 * The progress of a `train()` call, drawn in its cell and updated in place:
 * the epoch and step, loss and accuracy, samples a second, cost so far and
 * bytes exchanged, then a row per finished epoch.
 */
import { escapeHtml, formatUsd, NO_MATH_CLASSES } from '../cost/format';
import { display, Display } from '../output/display';
import { formatBytes } from '../telemetry/protocol/bytes';
import type { EpochRecord } from './checkpoint';

/** The line being trained now. */
export interface LiveFigures {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss?: number;
  samplesPerSecond?: number;
  costUsd: number;
  bytesExchanged: number;
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);

/** The cell's training display. */
export class TrainingProgress {
  private readonly view: Display | undefined;
  private live: LiveFigures | undefined;
  private status = '';

  constructor(
    private readonly title: string,
    private readonly history: EpochRecord[],
    enabled: boolean,
  ) {
    this.view = enabled ? display.updatable() : undefined;
  }

  /** The step line. */
  update(live: LiveFigures): void {
    this.live = live;
    this.draw();
  }

  /** A status under the table (how the training ended, or what it waits for). */
  note(status: string): void {
    this.status = status;
    this.draw();
  }

  /** Redraws (after an epoch was added to the shared history). */
  draw(): void {
    if (!this.view) {
      return;
    }
    this.view.bundle({ 'text/plain': this.text(), 'text/html': this.html() });
  }

  private liveLine(): string {
    const live = this.live;
    if (!live) {
      return 'starting the workers…';
    }
    return (
      `epoch ${live.epoch}/${live.epochs} · step ${live.step}/${live.stepsPerEpoch} · loss ${fixed(live.loss, 4)} · ` +
      `${fixed(live.samplesPerSecond, 0)} samples/s · ${formatUsd(live.costUsd)} · ${formatBytes(live.bytesExchanged)} exchanged`
    );
  }

  private rows(): string[][] {
    return this.history.map((r) => [
      String(r.epoch),
      fixed(r.loss, 4),
      fixed(r.accuracy, 4),
      fixed(r.valLoss, 4),
      fixed(r.valAccuracy, 4),
      fixed(r.seconds, 1),
      formatUsd(r.costUsd),
      formatBytes(r.bytesExchanged),
    ]);
  }

  private static readonly HEADER = [
    'epoch',
    'loss',
    'accuracy',
    'val loss',
    'val accuracy',
    's',
    'cost',
    'exchanged',
  ];

  private text(): string {
    const lines = [this.title, this.liveLine()];
    if (this.history.length > 0) {
      lines.push(TrainingProgress.HEADER.join('\t'), ...this.rows().map((row) => row.join('\t')));
    }
    if (this.status) {
      lines.push(this.status);
    }
    return lines.join('\n');
  }

  private html(): string {
    const head = TrainingProgress.HEADER.map((h) => `<th>${h}</th>`).join('');
    const body = this.rows()
      .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
      .join('');
    const table =
      this.history.length > 0 ? `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` : '';
    const status = this.status ? `<div>${escapeHtml(this.status)}</div>` : '';
    return (
      `<div class="serverless-training ${NO_MATH_CLASSES}"><div><b>${escapeHtml(this.title)}</b></div>` +
      `<div>${escapeHtml(this.liveLine())}</div>${table}${status}</div>`
    );
  }
}

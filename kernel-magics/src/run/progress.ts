/**
 * The progress bar of a `%%serverless` run: one display, updated in place
 * (display_id), showing done, failed, running, rate and cost so far.
 * Redraws are throttled; the final state is always drawn.
 */
import { randomUUID } from 'node:crypto';

import { escapeHtml, formatUsd, NO_MATH_CLASSES } from '../cost/format';
import { getOutputSink } from '../output/sink';

/** Counts the bar shows. */
export interface ProgressCounts {
  total: number;
  done: number;
  failed: number;
  running: number;
  costUsd: number;
}

const WIDTH = 30;
const REDRAW_MS = 100;

/** A throttled, in-place progress display for one run. */
export class ProgressBar {
  private readonly displayId = randomUUID();
  private readonly startedAt = performance.now();
  private shown = false;
  private lastDraw = 0;
  private timer?: NodeJS.Timeout;
  private counts: ProgressCounts;

  constructor(
    private readonly label: string,
    total: number,
  ) {
    this.counts = { total, done: 0, failed: 0, running: 0, costUsd: 0 };
  }

  /** Records new counts; redraws now or within ~100 ms. */
  update(counts: Partial<ProgressCounts>): void {
    this.counts = { ...this.counts, ...counts };
    const now = performance.now();
    if (now - this.lastDraw >= REDRAW_MS) {
      this.draw();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.draw(), REDRAW_MS - (now - this.lastDraw));
      this.timer.unref();
    }
  }

  /** Draws the final state and stops redrawing. */
  finish(note?: string): void {
    this.draw(note);
  }

  private text(note?: string): { plain: string; html: string } {
    const { total, done, failed, running, costUsd } = this.counts;
    const finished = done + failed;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? finished / seconds : 0;
    const filled = total > 0 ? Math.round((finished / total) * WIDTH) : WIDTH;
    const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
    const summary =
      `${finished}/${total} done` +
      (failed > 0 ? `, ${failed} failed` : '') +
      `, ${running} running, ${rate.toFixed(1)}/s, ${seconds.toFixed(1)} s, ${formatUsd(costUsd)}` +
      (note ? ` (${note})` : '');
    const percent = total > 0 ? (finished / total) * 100 : 100;
    const okPercent = total > 0 ? (done / total) * 100 : 100;
    const html =
      `<div class="jp-serverless-Progress ${NO_MATH_CLASSES}" style="font-family: var(--jp-code-font-family); font-size: var(--jp-code-font-size)">` +
      `<span>${escapeHtml(this.label)}</span> ` +
      `<div style="display:inline-block; vertical-align:middle; width:16em; height:0.8em; background: var(--jp-layout-color3)">` +
      `<div style="display:flex; height:100%; width:${percent.toFixed(1)}%">` +
      `<div style="flex:${okPercent.toFixed(2)}; background: var(--jp-success-color1)"></div>` +
      `<div style="flex:${(percent - okPercent).toFixed(2)}; background: var(--jp-error-color1)"></div>` +
      `</div></div> <span>${escapeHtml(summary)}</span></div>`;
    return { plain: `${this.label} ${bar} ${summary}`, html };
  }

  private draw(note?: string): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastDraw = performance.now();
    const { plain, html } = this.text(note);
    getOutputSink().display({ 'text/plain': plain, 'text/html': html }, {}, this.displayId, this.shown);
    this.shown = true;
  }
}

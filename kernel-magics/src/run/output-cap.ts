/**
 * The cap on streamed output per invocation: a body that prints megabytes
 * (a loop's debug line, a dumped array) would otherwise put all of it into
 * the notebook, where it is saved with the cell. Each invocation (all its
 * attempts) may stream up to its cap, in UTF-8 bytes of stdout and stderr
 * together; the rest is dropped and counted, and once the invocation ends
 * one line in the cell says how much and how to raise the cap.
 *
 * Display data is not counted: it is deliberate output (a chart, a table),
 * and updates of a display replace it rather than add to the cell.
 */
import { LIMITS } from '../magics/options';

const MB = 1024 * 1024;

/** Writes a stream chunk where the cell's output goes. */
export type StreamWriter = (name: 'stdout' | 'stderr', text: string) => void;

/** The cap in effect for a run's options. */
export function outputCapBytes(outputCapMb: number | undefined): number {
  return (outputCapMb ?? LIMITS.outputCapMb.default) * MB;
}

function formatMb(bytes: number): string {
  const mb = bytes / MB;
  return mb >= 10 ? mb.toFixed(0) : mb.toFixed(1);
}

/** Counts one invocation's streamed output against its cap. */
export class CappedStream {
  private written = 0;
  private dropped = 0;

  /**
   * @param label - names the invocation in the notice, e.g. "element 7".
   */
  constructor(
    private readonly write: StreamWriter,
    private readonly capBytes: number,
    private readonly label: string,
  ) {}

  /** Passes `text` on while under the cap; counts what is over it. */
  stream(name: 'stdout' | 'stderr', text: string): void {
    const room = this.capBytes - this.written;
    if (room <= 0) {
      // Counted without encoding when nothing of it can be kept.
      this.dropped += Buffer.byteLength(text, 'utf8');
      return;
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= room) {
      this.written += bytes;
      this.write(name, text);
      return;
    }
    // Cut at the cap (a character split there shows as U+FFFD).
    const kept = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
    this.written = this.capBytes;
    this.dropped += bytes - room;
    this.write(name, kept.endsWith('\n') ? kept : `${kept}\n`);
  }

  /** Bytes dropped so far. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** Writes the one line saying what was dropped, if anything was (once). */
  finish(): void {
    if (this.dropped === 0) {
      return;
    }
    const capMb = this.capBytes / MB;
    this.write(
      'stderr',
      `... ${formatMb(this.dropped)} MB of output dropped from ${this.label} (cap ${capMb} MB per ` +
        `invocation; raise with --output-cap MB or %serverless config --output-cap MB)\n`,
    );
    this.dropped = 0;
  }
}

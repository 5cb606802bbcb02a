/**
 * The history of a named training as the kernel measured it (each epoch's
 * cost and bytes exchanged are the kernel's: a worker cannot know them),
 * kept beside the checkpoints under `training/<name>/history.json` so that
 * `resume` gives back the same rows. A checkpoint's own rows stand in for
 * any epoch the kernel did not get to write (it stopped first).
 */
import type { ObjectStore } from '../exchange/store/object-store';
import type { EpochRecord } from './checkpoint';

/** Where a training's history is kept. */
export function historyKey(name: string): string {
  return `training/${name}/history.json`;
}

/** Writes the history (in order, one write at a time; the last one wins). */
export class HistoryWriter {
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly store: ObjectStore,
    private readonly name: string,
  ) {}

  /** Queues a write of `history` as it is now. */
  write(history: readonly EpochRecord[]): void {
    const body = new TextEncoder().encode(JSON.stringify(history));
    this.pending = this.pending.then(() =>
      this.store.put(historyKey(this.name), body).catch((error: unknown) => {
        this.failure = error;
      }),
    );
  }

  /** Resolves when the queued writes are done; rejects with the first failure, if any. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) {
      throw this.failure;
    }
  }
}

/**
 * The history to resume with: the kernel's rows for the epochs it wrote,
 * the checkpoint's for the rest, up to the checkpoint's epoch.
 */
export async function resumedHistory(
  store: ObjectStore,
  name: string,
  checkpointRows: readonly EpochRecord[],
  signal?: AbortSignal,
): Promise<EpochRecord[]> {
  const body = await store.get(historyKey(name), { signal });
  const kept = body ? parseRows(new TextDecoder().decode(body)) : [];
  const byEpoch = new Map(kept.map((row) => [row.epoch, row]));
  return checkpointRows.map((row) => byEpoch.get(row.epoch) ?? row);
}

function parseRows(text: string): EpochRecord[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value)
      ? value.filter(
          (row): row is EpochRecord =>
            row !== null && typeof row === 'object' && typeof (row as EpochRecord).epoch === 'number',
        )
      : [];
  } catch {
    return []; // A torn or foreign file: the checkpoint's rows are used.
  }
}

/**
 * What the Lambda backend leaves in the payload bucket, and what the bucket
 * costs: each run's objects are deleted with its last invocation (its prefix
 * listed only when the run may have left something: a LIST is a billed
 * request per cell run), an attempt's own objects once it ended, and the
 * bucket's requests are billed to the run that made them.
 */
import type { StoreRequests } from '../../exchange/store/object-store';
import { sharedStore } from '../../exchange/store/shared';
import type { LambdaSettings } from './config';
import { EventBuilder, runPayloadPrefix } from './event';
import { settingsStoreUrl } from './payload';

/** A run's invocations not finished, and whether any of its attempts may have left objects in the bucket. */
interface RunState {
  unfinished: number;
  mayHaveObjects: boolean;
}

/** The runs of one backend in the payload bucket. */
export class RunPayloads {
  private readonly runs = new Map<string, RunState>();

  constructor(
    private readonly settings: () => LambdaSettings | undefined,
    private readonly events: EventBuilder,
  ) {}

  /** An invocation of `runId` starts. */
  started(runId: string): void {
    const run = this.runs.get(runId) ?? { unfinished: 0, mayHaveObjects: false };
    run.unfinished += 1;
    this.runs.set(runId, run);
  }

  /** An attempt of `runId` may have left objects under the run's prefix. */
  mayHaveObjects(runId: string): void {
    const run = this.runs.get(runId);
    if (run) {
      run.mayHaveObjects = true;
    }
  }

  /**
   * An invocation of `runId` ended; with its last, the run's shared payloads
   * go (their prefix deleted in the background, bounded by the store's own
   * timeouts).
   */
  ended(runId: string): void {
    const run = this.runs.get(runId);
    if (run && run.unfinished > 1) {
      run.unfinished -= 1;
      return;
    }
    this.runs.delete(runId);
    const settings = this.settings();
    if (!settings) {
      return;
    }
    const url = settingsStoreUrl(settings);
    this.events.forgetRun(url, runId);
    if (run && !run.mayHaveObjects) {
      return;
    }
    void sharedStore(url)
      .deletePrefix(runPayloadPrefix(runId))
      .catch(() => undefined);
  }

  /** Deletes objects an attempt no longer needs (best effort, bounded by the store's own timeouts). */
  async deleteObjects(settings: LambdaSettings, keys: string[]): Promise<void> {
    if (keys.length === 0) {
      return;
    }
    const store = sharedStore(settingsStoreUrl(settings));
    await Promise.allSettled(keys.map((key) => store.delete(key)));
  }

  /**
   * The bucket's requests of an attempt, the runner's and the kernel's, to
   * bill to its run; undefined for none. The kernel's are counted up to now:
   * requests of other attempts running at the same time may be among them,
   * which moves cost between attempts, never loses it.
   */
  takeRequests(settings: LambdaSettings, runner: StoreRequests): StoreRequests | undefined {
    const kernel = sharedStore(settingsStoreUrl(settings)).take().requests;
    const total = {
      put: runner.put + kernel.put,
      get: runner.get + kernel.get,
      list: runner.list + kernel.list,
      delete: runner.delete + kernel.delete,
    };
    return total.put + total.get + total.list + total.delete > 0 ? total : undefined;
  }
}

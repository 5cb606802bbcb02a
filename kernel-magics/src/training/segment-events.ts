/** The events a segment's workers send, turned into the session's progress, epochs and costs. */
import type { InvocationEvent } from '../output/sink';
import type { TrainingHost } from './host';
import {
  SegmentSpec,
  TRAINING_EPOCH_EVENT,
  TRAINING_STEP_EVENT,
  TrainingEpochData,
  TrainingStepData,
} from './spec';

/** The events of one segment's workers, turned into progress, epochs and costs. */
/** What the events feed: the session of the train() call. */
export interface SegmentEventSink {
  readonly host: TrainingHost;
  /** What one worker costs a second, USD. */
  readonly perWorkerSecondUsd: number;
  onStep(data: TrainingStepData, liveCostUsd: number): void;
  onEpoch(data: TrainingEpochData, runId: string, costUsd: number, bytes: number, liveCostUsd: number): void;
  addBytes(bytes: number): void;
}

export class SegmentEvents {
  private readonly startedAt = performance.now();
  private bytesAtEpoch = 0;
  private bytes = 0;
  private storageAtEpoch = 0;

  constructor(
    private readonly session: SegmentEventSink,
    private readonly spec: SegmentSpec,
  ) {}

  on(rank: number, event: InvocationEvent, runId: string): void {
    if (event.type === 'exchange-round') {
      const up = Number(event.data.bytesUp ?? 0);
      const down = Number(event.data.bytesDown ?? 0);
      this.bytes += up + down;
      this.session.addBytes(up + down);
      return;
    }
    if (rank !== 0) {
      return;
    }
    if (event.type === TRAINING_STEP_EVENT) {
      this.session.onStep(event.data as unknown as TrainingStepData, this.liveCost(runId));
    } else if (event.type === TRAINING_EPOCH_EVENT) {
      const data = event.data as unknown as TrainingEpochData;
      const storage = this.session.host.storageCost(runId);
      // What the workers' invocations were billed for in the epoch (on their billing clock), else its wall time.
      const workerSeconds = data.workerSeconds ?? data.seconds * this.spec.workers;
      const compute = workerSeconds * this.session.perWorkerSecondUsd;
      const cost = compute + (storage - this.storageAtEpoch);
      this.storageAtEpoch = storage;
      const bytes = this.bytes - this.bytesAtEpoch;
      this.bytesAtEpoch = this.bytes;
      this.session.onEpoch(data, runId, cost, bytes, this.liveCost(runId));
    }
  }

  /** What the running segment has cost so far: its billed storage plus every worker's compute by wall time. */
  private liveCost(runId: string): number {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return (
      this.session.host.storageCost(runId) + seconds * this.spec.workers * this.session.perWorkerSecondUsd
    );
  }
}

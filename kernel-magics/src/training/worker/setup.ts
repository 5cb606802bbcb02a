/**
 * What a training worker sets up before its first step, for a segment and a
 * profile alike: tfjs, the store, its shard of the training data and of the
 * validation data, and its handles on the segment's exchanges.
 */
import type * as Tf from '@tensorflow/tfjs';

import { createExchangeApi, Exchange, ExchangeApi } from '../../exchange/collectives/exchange';
import type { ExchangeOptions } from '../../exchange/collectives/options';
import { sharedStore } from '../../exchange/store/shared';
import { ReportedStore } from '../../state/reported-store';
import { readSamples } from '../datasets/read';
import { shardRange } from '../datasets/shard';
import { EpochSchedule } from '../schedule';
import type { SegmentSpec } from '../spec';
import { loadTrainingTf } from '../tfjs/backend';
import type { ShardData } from './batches';

/** What a worker reads before its first step, besides the model. */
export interface WorkerInputs {
  tf: typeof Tf;
  store: ReportedStore;
  schedule: EpochSchedule;
  shard: ShardData;
  /** Its shard of the validation data, when the training has some. */
  validation: ShardData | undefined;
}

/**
 * Loads tfjs (the notebook's, through `requireFrom`, on the spec's backend)
 * and reads rank's shard of the data and of the validation data.
 * @throws TrainingConfigError when the batch does not fit the workers and the data.
 */
export async function loadWorkerInputs(
  spec: SegmentSpec,
  rank: number,
  requireFrom?: NodeJS.Require,
): Promise<WorkerInputs> {
  const { tf } = await loadTrainingTf({ requireFrom, prefer: spec.tfBackend });
  const store = new ReportedStore(sharedStore(spec.store));
  const schedule = new EpochSchedule(spec.data.samples, spec.workers, spec.batchSize);
  const shard = await readShard(store, spec.data, spec.workers, rank);
  const validation = spec.validation
    ? await readShard(store, spec.validation, spec.workers, rank)
    : undefined;
  return { tf, store, schedule, shard, validation };
}

async function readShard(
  store: ReportedStore,
  ref: SegmentSpec['data'],
  workers: number,
  rank: number,
): Promise<ShardData> {
  const [start, end] = shardRange(ref.samples, workers, rank);
  const { xs, ys } = await readSamples(store, ref, start, end);
  return { xs, ys, xShape: ref.xShape, yShape: ref.yShape, samples: end - start };
}

/** Rank's handles on a segment's exchanges, closed together when the worker ends. */
export class WorkerExchanges {
  private readonly api: ExchangeApi = createExchangeApi();
  private readonly opened: Exchange[] = [];

  constructor(
    private readonly spec: SegmentSpec,
    private readonly rank: number,
  ) {}

  /** The gradients' exchange, by the spec's strategy, codec and staleness. */
  async grads(): Promise<Exchange> {
    const { spec } = this;
    return this.open({
      run: 'grads',
      rank: this.rank,
      workers: spec.workers,
      codec: spec.codec,
      strategy: spec.strategy,
      ...(spec.strategy === 'parameter-server' ? { staleness: spec.staleness } : {}),
    });
  }

  /** The control rounds' exchange (a small all-reduce of metrics and stop votes). */
  async control(): Promise<Exchange> {
    return this.open({ run: 'control', rank: this.rank, workers: this.spec.workers, strategy: 'allreduce' });
  }

  /** Closes every exchange opened here. */
  async close(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((ex) => ex.close()));
  }

  private async open(options: ExchangeOptions): Promise<Exchange> {
    const ex = await this.api.open(options);
    this.opened.push(ex);
    return ex;
  }
}

/**
 * How a worker turns its gradient for round r into the averaged gradient it
 * applies, by strategy. With all-reduce, scatter-reduce and a synchronous
 * parameter server (staleness 0), round r's mean is applied at round r. With
 * staleness s > 0 the parameter server lets a worker run s rounds ahead:
 * round r applies the mean of round r - s (every worker applies the same
 * means in the same order, so the workers stay identical), and `drain`
 * applies the rounds still pending before a checkpoint.
 */
import type { Exchange } from '../../exchange/collectives/exchange';

/** The averaged gradients to apply after a worker's round, oldest first. */
export interface GradientSync {
  round(vector: Float32Array, round: number): Promise<Float32Array[]>;
  /**
   * The means of the rounds pushed but not yet applied, oldest first. Call
   * only once every worker has pushed them (after a control round).
   */
  drain(lastRound: number): Promise<Float32Array[]>;
}

/** The sync of `strategy` over `exchange`. */
export function gradientSync(exchange: Exchange, strategy: string, staleness: number): GradientSync {
  if (strategy === 'allreduce') {
    return synchronous((v, round) => exchange.allreduce(v, { round }));
  }
  if (strategy === 'scatter-reduce') {
    return synchronous((v, round) => exchange.scatterReduce(v, { round }));
  }
  if (staleness === 0) {
    return synchronous(async (v, round) => {
      await exchange.push(v, { round });
      return exchange.pull({ round });
    });
  }
  return new StaleParameterServer(exchange, staleness);
}

function synchronous(step: (v: Float32Array, round: number) => Promise<Float32Array>): GradientSync {
  return {
    round: async (vector, round) => [await step(vector, round)],
    drain: () => Promise.resolve([]),
  };
}

/** Bounded staleness: round r's push returns once round r - s is complete, and r - s is applied. */
class StaleParameterServer implements GradientSync {
  /** The next round whose mean is to be applied. */
  private next: number | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly staleness: number,
  ) {}

  async round(vector: Float32Array, round: number): Promise<Float32Array[]> {
    this.next ??= round;
    await this.exchange.push(vector, { round });
    const due = round - this.staleness;
    return due >= this.next ? [await this.pullExactly(due)] : [];
  }

  async drain(lastRound: number): Promise<Float32Array[]> {
    const means: Float32Array[] = [];
    while (this.next !== undefined && this.next <= lastRound) {
      means.push(await this.pullExactly(this.next));
    }
    return means;
  }

  /** The mean of exactly `round` (complete, so the newest complete round in its window is itself). */
  private async pullExactly(round: number): Promise<Float32Array> {
    const mean = await this.exchange.pull({ round });
    if (mean.round !== round) {
      throw new Error(`parameter server: asked for the mean of round ${round}, got round ${mean.round}`);
    }
    this.next = round + 1;
    return mean;
  }
}

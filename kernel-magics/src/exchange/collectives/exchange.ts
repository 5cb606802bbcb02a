/**
 * `exchange.open(...)`: one worker's handle on a named exchange of float32
 * vectors between the workers of a `--map` run, through an object store.
 *
 * Rounds are numbered (0, 1, 2... in order, one call at a time per
 * exchange) and idempotent: every round's result is computed once and
 * published with put-if-absent; a worker that runs a round again (a retried
 * invocation after a crash) gets the published result, and a contribution
 * it sends again to a round already reduced changes nothing.
 *
 * What a mean is worth, by codec (every worker gets the same bits):
 * - `none`: exactly the mean defined in `./reduce` (float32 sums in rank
 *   order, one division).
 * - `fp16`: contributions and mean are each rounded to half precision, so
 *   |decoded - exact| <= 2^-11 * (mean of |x_w|) + 2^-11 * |exact|, plus
 *   float32 rounding of the sum, plus 2^-25 a rounding for values under
 *   2^-14; beyond 65504 values become ±Infinity.
 * - `topk:F`, with error feedback both ways: worker w keeps a residual e_w
 *   of what it has not sent yet, and each reducer a residual q of what it
 *   has not sent down (with scatter-reduce and the parameter server, q is
 *   the concatenation of the shard reducers' residuals). After rounds
 *   1..R, starting with no residuals, element by element and up to float32
 *   rounding:
 *     sum over rounds of decoded means
 *       = sum over rounds of exact means - (1/W) * sum over w of e_w - q.
 *   Nothing is lost, only delayed, by what the residuals hold. A worker
 *   that crashes loses the residual updates since its environment last
 *   held them (in memory, or saved by close).
 *
 * After every round each worker sends an `exchange-round` event (bytes,
 * requests by kind, edges of the exchange graph); a worker that waits
 * longer than `stragglerS` sends `exchange-straggler` once for the round.
 */
import { JsonObject } from '../../kernel/messages';
import { emitEvent } from '../../output/events';
import { currentInvocation } from '../../runtime/program/context';
import type { ExchangeStrategy } from '../../telemetry/protocol/events';
import { sharedStore } from '../store/shared';
import type { ObjectStore } from '../store/object-store';
import { allreduceRound } from './allreduce';
import { Cleanups } from './cleanups';
import { ExchangeConfigError, ExchangeError } from './errors';
import { EXCHANGE_OPEN_EVENT, EXCHANGE_ROUND_EVENT } from './events';
import { evictClosed, FeedbackSlot, FeedbackState, feedbackRegistry } from './feedback';
import { ExchangeKeys } from './keys';
import {
  checkRound,
  ExchangeOptions,
  POLL_PLANS,
  PollPlan,
  ResolvedOptions,
  resolveOptions,
  RoundOptions,
} from './options';
import { ParameterServer, PulledMean } from './parameter-server';
import { ExchangeCore, Round } from './round';
import { scatterReduceRound } from './scatter-reduce';

/** Gives the store an exchange uses when `store` is not passed (the kernel's configured store). */
export type StoreResolver = () => ObjectStore | Promise<ObjectStore>;

/** The configured store (the invocation's, else the kernel's `--store`, else embedded), shared by the process. */
export const defaultStoreResolver: StoreResolver = () => sharedStore();

/** One worker's handle on an exchange. Close it when done (it saves error-feedback residuals). */
export class Exchange {
  private strategy: ExchangeStrategy | undefined;
  private parameterServer: ParameterServer | undefined;
  private closed = false;

  /** @internal Use `exchange.open`. */
  constructor(
    private readonly core: ExchangeCore,
    private readonly feedback: { key: string; state: FeedbackState } | undefined,
  ) {
    this.strategy = core.options.strategy;
  }

  /** The exchange's name (`run`). */
  get name(): string {
    return this.core.options.run;
  }

  /** This worker's rank. */
  get rank(): number {
    return this.core.options.rank;
  }

  /** How many workers take part. */
  get workers(): number {
    return this.core.options.workers;
  }

  /** The codec's name. */
  get codec(): string {
    return this.core.options.codec.name;
  }

  /**
   * Bytes this worker has written that stay in the store until the run's
   * keys are removed (when the run ends): the means it published and, with
   * two workers, its all-reduce vectors. Retried workers replay rounds from
   * them; a long loop can stop at a checkpoint before they grow too big.
   */
  get keptBytes(): number {
    return this.core.kept.bytes;
  }

  /**
   * The element-wise mean of every worker's `v` for this round, through a
   * leader (worker 0). Every worker gets the same bits.
   */
  async allreduce(v: Float32Array, options: RoundOptions): Promise<Float32Array> {
    return this.collective('allreduce', 'allreduce', v, options, allreduceRound);
  }

  /** The element-wise mean of every worker's `v` for this round, each worker reducing one shard. */
  async scatterReduce(v: Float32Array, options: RoundOptions): Promise<Float32Array> {
    return this.collective('scatter-reduce', 'scatterReduce', v, options, scatterReduceRound);
  }

  /** Parameter server: pushes this worker's `v` (e.g. its gradient) for the round; see the staleness rules on {@link ParameterServer}. */
  async push(v: Float32Array, options: RoundOptions): Promise<void> {
    const { round, signal } = this.prepare('parameter-server', 'push', options, v);
    try {
      await this.core.cleanups.nextCall();
      await this.server().push(v, round, signal.signal);
    } finally {
      signal.dispose();
    }
  }

  /**
   * Parameter server: the mean of the newest round in
   * [max(0, round - staleness), round] that every worker has pushed, with
   * the round it is of (with staleness 0, exactly `round`).
   */
  async pull(options: RoundOptions): Promise<PulledMean> {
    const { round, signal } = this.prepare('parameter-server', 'pull', options);
    try {
      await this.core.cleanups.nextCall();
      return await this.server().pull(round, signal.signal);
    } finally {
      signal.dispose();
    }
  }

  /**
   * Ends this worker's use of the exchange: a parameter-server shard owner
   * under error feedback first reduces the rounds it pushed (waiting up to
   * `roundTimeoutS` for slower workers); then reports rounds pushed and
   * never pulled, saves the error-feedback residuals to the store (for a cold
   * environment that opens the exchange again), and waits for the removals
   * of reduced contributions still running. Closing twice does nothing.
   */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    try {
      await this.parameterServer?.finish(this.core.options.signal);
      this.parameterServer?.flush();
      if (this.feedback) {
        const { state } = this.feedback;
        if ([...state.slots.values()].some((slot) => slot.residual.length > 0)) {
          await this.core.store.put(this.core.keys.state(this.rank), state.serialize());
        }
      }
    } finally {
      // Nothing the exchange started is left running once close resolves.
      await this.core.cleanups.drain();
      if (this.feedback) {
        this.feedback.state.holders -= 1;
        this.feedback.state.closedAt = Date.now();
        evictClosed();
      }
    }
  }

  private server(): ParameterServer {
    this.parameterServer ??= new ParameterServer(this.core, (round) => this.report(round));
    return this.parameterServer;
  }

  private async collective(
    strategy: ExchangeStrategy,
    call: string,
    v: Float32Array,
    options: RoundOptions,
    run: (round: Round, v: Float32Array) => Promise<Float32Array>,
  ): Promise<Float32Array> {
    const { round: r, signal } = this.prepare(strategy, call, options, v);
    const round = new Round(this.core, strategy, r);
    try {
      await this.core.cleanups.nextCall();
      round.begin(signal.signal);
      const mean = await run(round, v);
      round.end();
      this.report(round);
      return mean;
    } finally {
      signal.dispose();
    }
  }

  private prepare(
    strategy: ExchangeStrategy,
    call: string,
    options: RoundOptions,
    v?: Float32Array,
  ): { round: number; signal: CallSignal } {
    if (this.closed) {
      throw new ExchangeError(
        `exchange ${this.name}: ${call}() after close(); open it again to run more rounds`,
      );
    }
    if (this.strategy !== undefined && this.strategy !== strategy) {
      throw new ExchangeConfigError(
        `exchange ${this.name} uses ${this.strategy}; ${call}() is ${strategy}: open another exchange (another run name) for it`,
      );
    }
    if (v !== undefined && !(v instanceof Float32Array)) {
      throw new ExchangeConfigError(`${call}(v, { round }): v must be a Float32Array`);
    }
    const round = checkRound(options?.round, `${call}()`);
    this.strategy = strategy;
    return { round, signal: new CallSignal(this.core.options.signal, options.signal) };
  }

  private report(round: Round): void {
    this.core.emit(EXCHANGE_ROUND_EVENT, round.data() as unknown as JsonObject);
  }
}

/**
 * The exchange's signal and a call's, as one signal for the call; `dispose`
 * removes its listeners from the long-lived exchange signal, so calls do
 * not pile listeners onto it.
 */
class CallSignal {
  readonly signal: AbortSignal | undefined;
  private readonly release: Array<() => void> = [];

  constructor(...signals: Array<AbortSignal | undefined>) {
    const given = signals.filter((s): s is AbortSignal => s !== undefined);
    if (given.length <= 1) {
      this.signal = given[0];
      return;
    }
    const controller = new AbortController();
    this.signal = controller.signal;
    for (const source of given) {
      if (source.aborted) {
        controller.abort(source.reason);
        break;
      }
      const onAbort = (): void => controller.abort(source.reason);
      source.addEventListener('abort', onAbort, { once: true });
      this.release.push(() => source.removeEventListener('abort', onAbort));
    }
  }

  dispose(): void {
    for (const release of this.release.splice(0)) {
      release();
    }
  }
}

/** What `exchange.open` needs besides the options: where the default store comes from. */
export interface ExchangeApi {
  /** Opens this worker's handle on an exchange (see {@link ExchangeOptions}). */
  open(options: ExchangeOptions): Promise<Exchange>;
}

/** The `exchange` API with a given default store (the kernel passes the one it configured). */
export function createExchangeApi(resolveStore: StoreResolver = defaultStoreResolver): ExchangeApi {
  return { open: (options) => openExchange(options, resolveStore) };
}

async function openExchange(options: ExchangeOptions, resolveStore: StoreResolver): Promise<Exchange> {
  const resolved: ResolvedOptions = resolveOptions(options, currentInvocation()?.runId ?? 'local');
  // The exchange closes no store: one passed in is the caller's, a shared one the process's.
  const store =
    typeof options.store === 'string'
      ? sharedStore(options.store)
      : (options.store ?? (await resolveStore()));
  const keys = new ExchangeKeys(resolved.cellRunId, resolved.run);
  const plan: PollPlan = POLL_PLANS[store.kind] ?? POLL_PLANS.s3;
  const sink = options.onEvent ?? ((type: string, data: JsonObject) => emitEvent(type, data));
  const feedback = resolved.codec.errorFeedback ? await acquireFeedback(store, keys, resolved) : undefined;
  const state = feedback?.state;
  const core: ExchangeCore = {
    options: resolved,
    keys,
    store,
    plan,
    feedbackSlot: (name: string): FeedbackSlot | undefined => state?.slot(name),
    emit: (type, data) => sink(type, data as JsonObject),
    cleanups: new Cleanups(),
    kept: { bytes: 0 },
  };
  // The kernel learns which invocation is which rank: a straggler report names ranks, and the
  // kernel replaces invocations.
  sink(EXCHANGE_OPEN_EVENT, { exchange: resolved.run, rank: resolved.rank, workers: resolved.workers });
  return new Exchange(core, feedback);
}

/** This rank's residuals: from memory (a warm environment), else from the store (saved by a close), else none. */
async function acquireFeedback(
  store: ObjectStore,
  keys: ExchangeKeys,
  options: ResolvedOptions,
): Promise<{ key: string; state: FeedbackState }> {
  const registry = feedbackRegistry();
  const key = `${store.kind}:${store.location}|${keys.base}|${options.rank}`;
  let state = registry.get(key);
  if (!state) {
    const saved = await store.get(keys.state(options.rank), { signal: options.signal });
    state = saved ? FeedbackState.parse(saved, keys.state(options.rank)) : new FeedbackState();
    registry.set(key, state);
  }
  state.holders += 1;
  return { key, state };
}

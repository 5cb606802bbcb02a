/**
 * What the kernel does with the events a run's exchange sends from inside
 * its invocations: each worker's round becomes `exchange-round` telemetry
 * and a storage bill; a straggler report gets the slow worker's invocation
 * replaced (once per round and rank), so a synchronous round is not held up
 * until its deadline by one slow environment.
 */
import type { JsonObject } from '../kernel/messages';
import type { InvocationEvent, InvocationRequest } from '../runtime/backend';
import { arrayOf, count, finite, object, oneOf, Shape, string } from '../telemetry/protocol/check';
import type { ExchangeLink, ExchangeStrategy } from '../telemetry/protocol';
import type { StoreRequests } from '../exchange/store/object-store';
import type {
  ExchangeOpenData,
  ExchangeRoundData,
  ExchangeStragglerData,
} from '../exchange/collectives/events';

/** One worker's round as the exchange reports it (the kernel adds the run and the price). */
export type WorkerRound = ExchangeRoundData;

const isWorkerRound = object<WorkerRound>({
  exchange: string,
  round: count,
  workerId: string,
  rank: count,
  workers: count,
  strategy: oneOf<ExchangeStrategy>({ allreduce: true, 'scatter-reduce': true, 'parameter-server': true }),
  codec: string,
  store: string,
  bytesUp: count,
  bytesDown: count,
  rawBytes: count,
  requests: object<StoreRequests>({ put: count, get: count, list: count, delete: count }),
  durationMs: finite,
  links: arrayOf(object<ExchangeLink>({ node: string, bytesUp: count, bytesDown: count })),
} satisfies Shape<WorkerRound>);

/** A worker joined an exchange (`exchange.open`). */
type Joined = ExchangeOpenData;

const isJoined = object<Joined>({ exchange: string, rank: count, workers: count });

/** A worker waited too long for others in a round. */
type Straggling = ExchangeStragglerData;

const isStraggling = object<Straggling>({
  exchange: string,
  round: count,
  ranks: arrayOf(count),
  rank: count,
});

/** Requests a body's other store calls made (`models`), as it reports them. */
interface StoreRequestsData extends StoreRequests {
  /** The store's kind. */
  store: string;
}

const isStoreRequests = object<StoreRequestsData>({
  store: string,
  put: count,
  get: count,
  list: count,
  delete: count,
});

/** What the watch reports to. */
export interface ExchangeEventSink {
  /** A worker's round, from the invocation `request`. */
  round(request: InvocationRequest, round: WorkerRound): void;
  /** Store requests of a body's `models` calls, from the invocation `request`, to bill. */
  requests(request: InvocationRequest, store: string, requests: StoreRequests): void;
  /** Replaces a running invocation; false when it is not running. */
  replace(invocationId: string, why: string): boolean;
  /** Says something in the cell (a replacement, a malformed event). */
  note(text: string): void;
}

/** Follows one run's exchange events. */
export class ExchangeWatch {
  /** Invocation id by exchange and rank, from the workers' `exchange-open` events. */
  private readonly ranks = new Map<string, string>();
  /** `exchange/round/rank` already replaced. */
  private readonly replaced = new Set<string>();
  private warnedMalformed = false;

  constructor(private readonly sink: ExchangeEventSink) {}

  /** Whether a worker of the run opened an exchange (its keys are then to be removed at the run's end). */
  get opened(): boolean {
    return this.ranks.size > 0;
  }

  /** Handles an event of `request`'s invocation; events of other kinds are not the exchange's. */
  onEvent(request: InvocationRequest, event: InvocationEvent): void {
    switch (event.type) {
      case 'exchange-open':
        this.check(event.data, isJoined, (joined) =>
          this.ranks.set(rankKey(joined.exchange, joined.rank), request.id),
        );
        return;
      case 'exchange-round':
        this.check(event.data, isWorkerRound, (round) => this.sink.round(request, round));
        return;
      case 'store-requests':
        this.check(event.data, isStoreRequests, ({ store, ...requests }) =>
          this.sink.requests(request, store, requests),
        );
        return;
      case 'exchange-straggler':
        this.check(event.data, isStraggling, (straggling) => this.replaceStragglers(straggling));
        return;
      default:
        return;
    }
  }

  private replaceStragglers({ exchange, round, ranks }: Straggling): void {
    for (const rank of ranks) {
      const key = `${rankKey(exchange, rank)}/${round}`;
      const id = this.ranks.get(rankKey(exchange, rank));
      if (id === undefined || this.replaced.has(key)) {
        continue;
      }
      this.replaced.add(key);
      const why = `worker ${rank} of exchange '${exchange}' held up round ${round}`;
      if (this.sink.replace(id, why)) {
        this.sink.note(
          `%%serverless: ${why}; its invocation was replaced (it runs again, from its last round).\n`,
        );
      }
    }
  }

  private check<T>(data: JsonObject, guard: (value: unknown) => value is T, use: (value: T) => void): void {
    if (guard(data)) {
      use(data);
    } else if (!this.warnedMalformed) {
      this.warnedMalformed = true;
      this.sink.note(
        '%%serverless: an exchange event with unexpected fields was ignored (a mismatched serverless-kernel in the notebook?).\n',
      );
    }
  }
}

function rankKey(exchange: string, rank: number): string {
  return `${exchange}#${rank}`;
}

/**
 * Shared by the exchange tests: a temporary embedded store, W workers run
 * as concurrent async functions in this process, deterministic vectors, and
 * the reference mean (float32, rank order, as the exchange defines it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { exchange, Exchange, ExchangeOptions } from '../../kernel-magics/src/exchange';
import { ExchangeStrategy } from '../../kernel-magics/src/telemetry/protocol/events';
import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import { ObjectStore, StoreCallOptions } from '../../kernel-magics/src/exchange/store/object-store';

/** An event an exchange sent. */
export interface SeenEvent {
  type: string;
  data: { [key: string]: unknown };
}

/** One round of `strategy` (push then pull for the parameter server): the mean this worker gets. */
export async function step(
  ex: Exchange,
  strategy: ExchangeStrategy,
  v: Float32Array,
  round: number,
): Promise<Float32Array> {
  if (strategy === 'allreduce') {
    return ex.allreduce(v, { round });
  }
  if (strategy === 'scatter-reduce') {
    return ex.scatterReduce(v, { round });
  }
  await ex.push(v, { round });
  const pulled = await ex.pull({ round });
  if (pulled.round !== round) {
    throw new Error(`pull({ round: ${round} }) with staleness 0 gave round ${pulled.round}`);
  }
  return pulled.mean;
}

/** A temporary store directory, removed by `dispose`. */
export class TempStore {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'exchange-test-'));
  readonly store = new EmbeddedStore(this.dir);
  readonly events: SeenEvent[] = [];
  private readonly opened: Exchange[] = [];

  /** Opens an exchange on this store (or on a separate store instance of the same directory). */
  async open(
    options: Omit<ExchangeOptions, 'store'> & { separate?: boolean; store?: ObjectStore },
  ): Promise<Exchange> {
    const { separate, store, ...rest } = options;
    const ex = await exchange.open({
      cellRunId: 'test-run',
      onEvent: (type, data) => this.events.push({ type, data }),
      ...rest,
      store: store ?? (separate ? new EmbeddedStore(this.dir) : this.store),
    });
    this.opened.push(ex);
    return ex;
  }

  /** Forgets an exchange whose worker "crashed" (its store hangs; closing it would too). */
  abandon(ex: Exchange): void {
    this.opened.splice(this.opened.indexOf(ex), 1);
  }

  /** The events of one type. */
  ofType(type: string): Array<{ [key: string]: unknown }> {
    return this.events.filter((e) => e.type === type).map((e) => e.data);
  }

  async dispose(): Promise<void> {
    for (const ex of this.opened) {
      await ex.close().catch(() => undefined);
    }
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `work(rank)` for every rank at once and resolves to their results, in rank order. */
export function allWorkers<T>(workers: number, work: (rank: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: workers }, (_, rank) => work(rank)));
}

/** A deterministic xorshift generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** A vector of `n` floats for a worker and a round (roughly normal, with a worker-dependent scale). */
export function vectorOf(n: number, rank: number, round: number, seed = 1): Float32Array {
  const next = rng(seed * 1_000_003 + rank * 7919 + round * 104_729 + 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    out[i] = (next() + next() + next() - 1.5) * (1 + rank);
  }
  return out;
}

/** Small integers (exact in float32 sums), for means checked with tolerance 0. */
export function integersOf(n: number, rank: number, round: number): Float32Array {
  const next = rng(rank * 31 + round * 1009 + 5);
  return new Float32Array(n).map(() => Math.floor(next() * 201) - 100);
}

/** The mean the exchange defines: float32 sum from +0 in rank order, then one float32 division. */
export function referenceMean(vectors: Float32Array[]): Float32Array {
  const sum = new Float32Array(vectors[0].length);
  for (const v of vectors) {
    for (let i = 0; i < v.length; i += 1) {
      sum[i] += v[i];
    }
  }
  for (let i = 0; i < sum.length; i += 1) {
    sum[i] /= vectors.length;
  }
  return sum;
}

/** Whether two vectors have the same bits (NaN and -0 included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i += 1) {
    if (x[i] !== y[i]) {
      return false;
    }
  }
  return true;
}

/** Where a {@link CrashingStore} dies: on the first call of `operation` whose key matches, before or after doing it. */
export interface CrashPoint {
  operation: 'put' | 'putIfAbsent' | 'get' | 'getRange' | 'list';
  key: RegExp;
  when: 'before' | 'after';
}

/**
 * A real store seen through a worker that dies at one point: the call that
 * hits the crash point (after doing its work, for `after`) never settles,
 * so the worker's promise chain is abandoned mid-round, as a killed process
 * leaves it. `crashed` resolves when that happens.
 */
export class CrashingStore implements ObjectStore {
  readonly kind: ObjectStore['kind'];
  readonly location: string;
  readonly crashed: Promise<void>;
  /** The real store's ranged get, crashing like the other calls. */
  readonly getRange?: ObjectStore['getRange'];
  private hit = false;
  private onCrash!: () => void;

  constructor(
    private readonly inner: ObjectStore,
    private readonly point: CrashPoint,
  ) {
    this.kind = inner.kind;
    this.location = inner.location;
    this.crashed = new Promise((resolve) => {
      this.onCrash = resolve;
    });
    const ranged = inner.getRange?.bind(inner);
    this.getRange =
      ranged &&
      ((key, offset, length, options) =>
        this.maybeCrash('getRange', key, () => ranged(key, offset, length, options)));
  }

  put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    return this.maybeCrash('put', key, () => this.inner.put(key, body, options));
  }

  putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    return this.maybeCrash('putIfAbsent', key, () => this.inner.putIfAbsent(key, body, options));
  }

  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.maybeCrash('get', key, () => this.inner.get(key, options));
  }

  list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    return this.maybeCrash('list', prefix, () => this.inner.list(prefix, options));
  }

  delete(key: string, options?: StoreCallOptions): Promise<void> {
    return this.dead() ?? this.inner.delete(key, options);
  }

  deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    return this.dead() ?? this.inner.deletePrefix(prefix, options);
  }

  async close(): Promise<void> {
    // The real store belongs to the test.
  }

  /** After the crash, every call hangs: the worker is gone. */
  private dead<T>(): Promise<T> | undefined {
    return this.hit ? new Promise<T>(() => undefined) : undefined;
  }

  private async maybeCrash<T>(
    operation: CrashPoint['operation'],
    key: string,
    call: () => Promise<T>,
  ): Promise<T> {
    const dead = this.dead<T>();
    if (dead) {
      return dead;
    }
    if (operation !== this.point.operation || !this.point.key.test(key)) {
      return call();
    }
    if (this.point.when === 'after') {
      await call();
    }
    this.hit = true;
    this.onCrash();
    return new Promise<T>(() => undefined);
  }
}

/**
 * Shared by the exchange tests: a temporary embedded store, W workers run
 * as concurrent async functions in this process, deterministic vectors, and
 * the reference mean (float32, rank order, as the exchange defines it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { exchange, Exchange, ExchangeOptions } from '../../kernel-magics/src/exchange';
import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';

/** An event an exchange sent. */
export interface SeenEvent {
  type: string;
  data: { [key: string]: unknown };
}

/** A temporary store directory, removed by `dispose`. */
export class TempStore {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'exchange-test-'));
  readonly store = new EmbeddedStore(this.dir);
  readonly events: SeenEvent[] = [];
  private readonly opened: Exchange[] = [];

  /** Opens an exchange on this store (or on a separate store instance of the same directory). */
  async open(options: Omit<ExchangeOptions, 'store'> & { separate?: boolean }): Promise<Exchange> {
    const { separate, ...rest } = options;
    const ex = await exchange.open({
      cellRunId: 'test-run',
      onEvent: (type, data) => this.events.push({ type, data }),
      ...rest,
      store: separate ? new EmbeddedStore(this.dir) : this.store,
    });
    this.opened.push(ex);
    return ex;
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

/**
 * Error-feedback residuals: what a top-k worker (or reducer) has not sent
 * yet, added to its next round's vector so that nothing is lost, only
 * delayed.
 *
 * Residuals stay in memory, per exchange and rank, in a registry that
 * outlives one invocation: a warm environment that runs the next invocation
 * (or the retry of a crashed one) finds them there. They go to the store
 * only when the exchange closes, and come back from it only when an
 * exchange opens in an environment that has none (a cold one), so rounds
 * move gradients, never residuals.
 *
 * Each residual is kept twice, before and after the last round it encoded,
 * so a retry of that round starts again from the residual before it and
 * never counts a vector twice.
 */
import type { Codec } from '../codecs';
import { ExchangeMismatchError } from './errors';

/** One residual: a worker's uplink one, or a reducer's for what it sends down. */
export class FeedbackSlot {
  /** The last round encoded with this residual; -1 before the first. */
  round = -1;
  private before: Float32Array;
  private after: Float32Array;

  constructor(residual = new Float32Array(0), round = -1) {
    this.after = residual;
    this.before = residual.slice();
    this.round = round;
  }

  /** The residual after the last round (what is still owed). */
  get residual(): Float32Array {
    return this.after;
  }

  /**
   * Encodes `v` for `round` with error feedback, piece by piece (`bounds`:
   * [start, end) ranges, each encoded on its own, e.g. one per shard). A
   * new round starts from the residual the last one left; a retry of the
   * last round starts again from the residual before it. A round older than
   * the last is encoded without feedback (its result was already reduced,
   * so what it sends is not used).
   */
  encode(codec: Codec, v: Float32Array, round: number, bounds: Array<[number, number]>): Uint8Array[] {
    if (!codec.encodeWithFeedback || round < this.round) {
      return bounds.map(([start, end]) => codec.encode(v.subarray(start, end)));
    }
    if (this.after.length !== v.length) {
      // First use, or vectors of another length: nothing owed for this length.
      this.after = new Float32Array(v.length);
      this.before = new Float32Array(v.length);
      this.round = -1;
    }
    if (round > this.round) {
      [this.before, this.after] = [this.after, this.before];
      this.round = round;
    }
    const encodeWithFeedback = codec.encodeWithFeedback.bind(codec);
    return bounds.map(([start, end]) =>
      encodeWithFeedback(
        v.subarray(start, end),
        this.before.subarray(start, end),
        this.after.subarray(start, end),
      ),
    );
  }
}

/** The residuals of one rank of one exchange. */
export class FeedbackState {
  readonly slots = new Map<string, FeedbackSlot>();
  /** Open exchanges using this state. */
  holders = 0;
  /** When the last holder closed (for eviction order). */
  closedAt = 0;

  /** The slot called `name` (`up`, `down:ar`, `down:ps:2`...), created empty. */
  slot(name: string): FeedbackSlot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = new FeedbackSlot();
      this.slots.set(name, slot);
    }
    return slot;
  }

  /** Bytes held in memory. */
  bytes(): number {
    let total = 0;
    for (const slot of this.slots.values()) {
      total += slot.residual.byteLength * 2;
    }
    return total;
  }

  /**
   * The saved form: a little-endian u32 header length, a JSON header
   * (`{ slots: [{ name, round, length }] }`, padded with spaces to a
   * multiple of four bytes), then each residual's float32 values.
   */
  serialize(): Uint8Array {
    const slots = [...this.slots].map(([name, slot]) => ({
      name,
      round: slot.round,
      length: slot.residual.length,
    }));
    let header = JSON.stringify({ slots });
    header += ' '.repeat((4 - ((4 + Buffer.byteLength(header)) % 4)) % 4);
    const headerBytes = Buffer.from(header, 'utf8');
    const total = 4 + headerBytes.byteLength + slots.reduce((sum, s) => sum + s.length * 4, 0);
    const out = new Uint8Array(total);
    new DataView(out.buffer).setUint32(0, headerBytes.byteLength, true);
    out.set(headerBytes, 4);
    let at = 4 + headerBytes.byteLength;
    for (const slot of this.slots.values()) {
      const values = new DataView(out.buffer, at, slot.residual.byteLength);
      slot.residual.forEach((x, i) => values.setFloat32(i * 4, x, true));
      at += slot.residual.byteLength;
    }
    return out;
  }

  /** Reads {@link serialize}'s form; throws an ExchangeMismatchError for anything else. */
  static parse(bytes: Uint8Array, where: string): FeedbackState {
    const fail = (why: string): never => {
      throw new ExchangeMismatchError(
        `the saved error-feedback state ${where} cannot be read (${why}); delete it to start with no residual`,
      );
    };
    if (bytes.byteLength < 4) {
      fail('too short');
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.getUint32(0, true);
    let header: { slots?: Array<{ name: string; round: number; length: number }> } = {};
    try {
      header = JSON.parse(
        Buffer.from(bytes.buffer, bytes.byteOffset + 4, headerLength).toString('utf8'),
      ) as typeof header;
    } catch {
      fail('bad header');
    }
    const state = new FeedbackState();
    let at = 4 + headerLength;
    for (const { name, round, length } of header.slots ?? []) {
      if (at + length * 4 > bytes.byteLength) {
        fail('truncated');
      }
      const residual = new Float32Array(length);
      for (let i = 0; i < length; i += 1) {
        residual[i] = view.getFloat32(at + i * 4, true);
      }
      at += length * 4;
      state.slots.set(name, new FeedbackSlot(residual, round));
    }
    return state;
  }
}

/** How many bytes of closed exchanges' residuals a process keeps in memory (the oldest go first). */
const CLOSED_BUDGET_BYTES = 256 * 1024 * 1024;

const REGISTRY_KEY = Symbol.for('serverless-kernel.exchange-feedback');

type RegistryHolder = { [REGISTRY_KEY]?: Map<string, FeedbackState> };

/**
 * The process's residuals by exchange and rank, on a global symbol so that
 * two copies of this package in one process share them.
 */
export function feedbackRegistry(): Map<string, FeedbackState> {
  const holder = globalThis as RegistryHolder;
  holder[REGISTRY_KEY] ??= new Map();
  return holder[REGISTRY_KEY];
}

/** Drops the residuals of closed exchanges, oldest first, beyond the memory budget. */
export function evictClosed(registry = feedbackRegistry()): void {
  const closed = [...registry]
    .filter(([, state]) => state.holders === 0)
    .sort((a, b) => a[1].closedAt - b[1].closedAt);
  let bytes = closed.reduce((sum, [, state]) => sum + state.bytes(), 0);
  for (const [key, state] of closed) {
    if (bytes <= CLOSED_BUDGET_BYTES) {
      break;
    }
    registry.delete(key);
    bytes -= state.bytes();
  }
}

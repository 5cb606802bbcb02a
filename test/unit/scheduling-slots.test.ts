/**
 * Slots (runtime/scheduling/slots.ts), the concurrency limit of the Lambda
 * backend: waiters admitted in arrival order, never more held than the
 * limit, an aborted waiter takes nothing, a raised limit admits at once.
 */
import { Slots } from '../../kernel-magics/src/runtime/scheduling/slots';

/** Lets every settled promise run its callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Acquires a slot and records, in `order`, when it was admitted (or refused). */
function acquireAs(slots: Slots, name: string, order: string[], signal = new AbortController().signal) {
  return slots.acquire(signal).then((held) => {
    order.push(held ? name : `${name}:refused`);
    return held;
  });
}

describe('Slots', () => {
  it('admits at once while slots are free, then queues', async () => {
    const slots = new Slots(2);
    const never = new AbortController().signal;
    await expect(slots.acquire(never)).resolves.toBe(true);
    await expect(slots.acquire(never)).resolves.toBe(true);
    const order: string[] = [];
    void acquireAs(slots, 'third', order);
    await settle();
    expect(order).toEqual([]);
    expect(slots.inUse).toBe(2);
    expect(slots.waiting).toBe(1);
    expect(slots.size).toBe(2);
  });

  it('admits waiters one per release, in arrival order', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    await acquireAs(slots, 'a', order);
    for (const name of ['b', 'c', 'd']) {
      void acquireAs(slots, name, order);
    }
    await settle();
    expect(order).toEqual(['a']);
    for (const expected of [
      ['a', 'b'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c', 'd'],
    ]) {
      slots.release();
      await settle();
      expect(order).toEqual(expected);
      expect(slots.inUse).toBe(1);
    }
    expect(slots.waiting).toBe(0);
  });

  it('never lets a newcomer pass a waiter when a slot frees', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    await acquireAs(slots, 'first', order);
    void acquireAs(slots, 'waiting', order);
    slots.release();
    // The freed slot went to the waiter: a newcomer now waits behind it.
    void acquireAs(slots, 'newcomer', order);
    await settle();
    expect(order).toEqual(['first', 'waiting']);
    expect(slots.inUse).toBe(1);
    expect(slots.waiting).toBe(1);
    slots.release();
    await settle();
    expect(order).toEqual(['first', 'waiting', 'newcomer']);
  });

  it('never holds more than the limit, however acquires and releases interleave', async () => {
    const slots = new Slots(3);
    let running = 0;
    let most = 0;
    const work = async (k: number): Promise<void> => {
      expect(await slots.acquire(new AbortController().signal)).toBe(true);
      running += 1;
      most = Math.max(most, running);
      expect(slots.inUse).toBeLessThanOrEqual(3);
      for (let tick = 0; tick < k % 4; tick += 1) {
        await settle();
      }
      running -= 1;
      slots.release();
    };
    await Promise.all(Array.from({ length: 20 }, (_, k) => work(k)));
    expect(most).toBe(3);
    expect(slots.inUse).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it('refuses an acquire whose signal aborted already, even with free slots', async () => {
    const slots = new Slots(2);
    await expect(slots.acquire(AbortSignal.abort())).resolves.toBe(false);
    expect(slots.inUse).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it('resolves a waiter false when its signal aborts, holding nothing and keeping the others in order', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    await acquireAs(slots, 'a', order);
    const leaving = new AbortController();
    void acquireAs(slots, 'b', order);
    const aborted = acquireAs(slots, 'c', order, leaving.signal);
    void acquireAs(slots, 'd', order);
    leaving.abort();
    await expect(aborted).resolves.toBe(false);
    expect(order).toEqual(['a', 'c:refused']);
    expect(slots.inUse).toBe(1);
    expect(slots.waiting).toBe(2);
    slots.release();
    await settle();
    expect(order).toEqual(['a', 'c:refused', 'b']);
    slots.release();
    await settle();
    expect(order).toEqual(['a', 'c:refused', 'b', 'd']);
    slots.release();
    expect(slots.inUse).toBe(0);
  });

  it('frees nothing when the only waiter aborts: the slot stays with its holder', async () => {
    const slots = new Slots(1);
    await slots.acquire(new AbortController().signal);
    const leaving = new AbortController();
    const waiting = slots.acquire(leaving.signal);
    leaving.abort();
    await expect(waiting).resolves.toBe(false);
    expect(slots.inUse).toBe(1);
    slots.release();
    expect(slots.inUse).toBe(0);
    // The aborted waiter took nothing: the next acquire gets the freed slot at once.
    await expect(slots.acquire(new AbortController().signal)).resolves.toBe(true);
    expect(slots.inUse).toBe(1);
  });

  it('ignores an abort after the slot was given: the holder keeps it until it releases', async () => {
    const slots = new Slots(1);
    await slots.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    slots.release();
    await expect(waiting).resolves.toBe(true);
    controller.abort();
    await settle();
    expect(slots.inUse).toBe(1);
    expect(slots.waiting).toBe(0);
  });

  it('admits waiters at once, in order, when the limit is raised', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    await acquireAs(slots, 'a', order);
    for (const name of ['b', 'c', 'd']) {
      void acquireAs(slots, name, order);
    }
    slots.resize(3);
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(slots.inUse).toBe(3);
    expect(slots.waiting).toBe(1);
    expect(slots.size).toBe(3);
  });

  it('lets holders finish when the limit is lowered, admitting nobody until under it', async () => {
    const slots = new Slots(3);
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await acquireAs(slots, name, order);
    }
    slots.resize(1);
    void acquireAs(slots, 'd', order);
    slots.release();
    slots.release();
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(slots.inUse).toBe(1);
    slots.release();
    await settle();
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(slots.inUse).toBe(1);
  });

  it('never counts below zero: extra releases do not make room for more than the limit', async () => {
    const slots = new Slots(2);
    slots.release();
    slots.release();
    slots.release();
    expect(slots.inUse).toBe(0);
    const never = new AbortController().signal;
    await expect(slots.acquire(never)).resolves.toBe(true);
    await expect(slots.acquire(never)).resolves.toBe(true);
    const order: string[] = [];
    void acquireAs(slots, 'third', order);
    await settle();
    expect(order).toEqual([]);
    expect(slots.inUse).toBe(2);
    expect(slots.waiting).toBe(1);
  });
});

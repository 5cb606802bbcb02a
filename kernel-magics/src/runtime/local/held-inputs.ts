/**
 * The kernel side's list of the programs and captures a worker holds, so a
 * warm invocation carries only its element. Both caches are bounded: a
 * notebook session runs many cells in environments that live for minutes,
 * and capture bytes held in a worker count against its --memory.
 */
import { InvocationRequest } from '../backend';
import { HELD_CAPTURES_MEMORY_FRACTION, MAX_HELD_CAPTURES, MAX_HELD_PROGRAMS } from './config';
import { InvokeMessage } from './protocol';

/** Marks `hash` as the most recently used (Map order is the LRU order). */
function touch(held: Map<string, number>, hash: string, bytes: number): void {
  held.delete(hash);
  held.set(hash, bytes);
}

/** Drops the least recently used entries (never `keep`) until within both limits; returns their hashes. */
function evict(held: Map<string, number>, keep: string, maxEntries: number, maxBytes: number): string[] {
  let total = 0;
  for (const bytes of held.values()) {
    total += bytes;
  }
  const dropped: string[] = [];
  for (const [hash, bytes] of held) {
    if (held.size <= maxEntries && total <= maxBytes) {
      break;
    }
    if (hash !== keep) {
      held.delete(hash);
      total -= bytes;
      dropped.push(hash);
    }
  }
  return dropped;
}

/** What one worker holds, as the kernel side tracks it. */
export class HeldInputs {
  /** Program hashes (the value is unused: programs are counted, not weighed). */
  private readonly programs = new Map<string, number>();
  /** Captures hash -> bytes. */
  private readonly captures = new Map<string, number>();
  private readonly captureBudget: number;

  constructor(memoryMb: number) {
    this.captureBudget = memoryMb * 1024 * 1024 * HELD_CAPTURES_MEMORY_FRACTION;
  }

  /**
   * Adds to `message` the program and captures the worker lacks and the
   * hashes it must drop; returns the bytes added (for `bytesIn`).
   */
  fill(message: InvokeMessage, request: InvocationRequest): number {
    let bytes = 0;
    const { program, captures } = request;
    if (!this.programs.has(program.hash)) {
      message.program = { source: program.source, filename: program.filename };
      bytes += Buffer.byteLength(program.source);
    }
    touch(this.programs, program.hash, 0);
    const dropPrograms = evict(this.programs, program.hash, MAX_HELD_PROGRAMS, Infinity);
    if (!this.captures.has(captures.hash)) {
      message.captures = captures.bytes;
      bytes += captures.bytes.byteLength;
    }
    touch(this.captures, captures.hash, captures.bytes.byteLength);
    const dropCaptures = evict(this.captures, captures.hash, MAX_HELD_CAPTURES, this.captureBudget);
    if (dropPrograms.length > 0) {
      message.dropPrograms = dropPrograms;
    }
    if (dropCaptures.length > 0) {
      message.dropCaptures = dropCaptures;
    }
    return bytes;
  }
}

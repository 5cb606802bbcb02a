/**
 * What the main thread is doing with the current cell, in shared memory so
 * the I/O thread can read it while the main thread is busy, and an
 * interrupt flag the main thread can read between compiling and running.
 */

/** The phases of a cell on the main thread. */
export const CellPhase = {
  /** No cell, or the kernel's own code between cells. */
  idle: 0,
  /** The compiler is checking and emitting the cell: kernel code, must not be terminated. */
  compiling: 1,
  /** The cell's own JavaScript runs (or awaits). */
  running: 2,
} as const;

/** One of {@link CellPhase}. */
export type CellPhaseValue = (typeof CellPhase)[keyof typeof CellPhase];

const PHASE = 0;
const INTERRUPT = 1;
const PENDING = 2;

/** Cell phase and interrupt request, shared between threads. */
export class SharedCellState {
  private readonly view: Int32Array;

  /** @param buffer - shared between the threads (12 bytes). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(12)) {
    this.view = new Int32Array(buffer);
  }

  get phase(): CellPhaseValue {
    return Atomics.load(this.view, PHASE) as CellPhaseValue;
  }

  set phase(phase: CellPhaseValue) {
    Atomics.store(this.view, PHASE, phase);
  }

  /**
   * An execute request arrived (the I/O thread counts them as it forwards
   * them, so requests the busy main thread has not seen yet count too).
   */
  executeQueued(): void {
    Atomics.add(this.view, PENDING, 1);
  }

  /**
   * An execute request was answered. An interrupt request ends with the cell
   * it stopped: the cells queued behind it were aborted by its error.
   */
  executeDone(): void {
    if (Atomics.sub(this.view, PENDING, 1) <= 0) {
      Atomics.store(this.view, PENDING, 0);
    }
    Atomics.store(this.view, INTERRUPT, 0);
  }

  /**
   * The user asked to interrupt: it applies to the running cell, or to the
   * next one when it has not started yet (the kernel was still warming up);
   * with no cell queued or running there is nothing to interrupt.
   */
  requestInterrupt(): boolean {
    if (Atomics.load(this.view, PENDING) === 0) {
      return false;
    }
    Atomics.store(this.view, INTERRUPT, 1);
    return true;
  }

  /** True while an interrupt request applies. */
  get interruptRequested(): boolean {
    return Atomics.load(this.view, INTERRUPT) === 1;
  }
}

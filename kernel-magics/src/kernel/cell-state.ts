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

/** Cell phase and interrupt request, shared between threads. */
export class SharedCellState {
  private readonly view: Int32Array;

  /** @param buffer - shared between the threads (8 bytes). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.view = new Int32Array(buffer);
  }

  get phase(): CellPhaseValue {
    return Atomics.load(this.view, PHASE) as CellPhaseValue;
  }

  set phase(phase: CellPhaseValue) {
    Atomics.store(this.view, PHASE, phase);
  }

  /** Marks that the user asked to interrupt the current cell. */
  requestInterrupt(): void {
    Atomics.store(this.view, INTERRUPT, 1);
  }

  /** True when an interrupt was requested since the cell started. */
  get interruptRequested(): boolean {
    return Atomics.load(this.view, INTERRUPT) === 1;
  }

  /** Forgets an interrupt request (at the start of each cell). */
  clearInterrupt(): void {
    Atomics.store(this.view, INTERRUPT, 0);
  }
}

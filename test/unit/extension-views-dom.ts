/**
 * What jsdom lacks and Lumino needs at import time; import this first in a
 * `@jest-environment jsdom` test that imports `@lumino/widgets`.
 */
if (typeof globalThis.DragEvent === 'undefined') {
  // @lumino/dragdrop subclasses DragEvent; jsdom has none.
  class DragEvent extends MouseEvent {
    readonly dataTransfer: DataTransfer | null = null;
  }
  Object.assign(globalThis, { DragEvent });
}

export {};

/**
 * Which invocation owns output written now. Output is attributed through the
 * async context in which it is written, and only while that invocation runs:
 * a timer a finished invocation left behind never writes into the output of
 * the one running now. stdout, stderr, the display API and invocation events
 * of the owning invocation go to its sink; other writes go where they would
 * have gone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type { JsonObject, MimeBundle } from '../../kernel/messages';
import { getOutputSink, OutputSink, setOutputSink } from '../../output/sink';
import type { InvocationEvent } from '../backend';
import type { InvocationContext } from './context';

/** Where one invocation's output goes while it runs. */
export interface ProgramSink {
  stream(name: 'stdout' | 'stderr', text: string): void;
  display(data: MimeBundle, metadata: JsonObject, displayId?: string, update?: boolean): void;
  /** `display.clear()`: clears the cell's output (`wait`: when the next output arrives). */
  clear(wait: boolean): void;
  /** A typed event sent to the kernel while the invocation runs (see InvocationObserver.onEvent). */
  event(event: InvocationEvent): void;
}

/** An invocation while it may own output. */
interface Owner {
  sink: ProgramSink;
  running: boolean;
  /** The entry point's id of the invocation (see {@link OutputOwnership.run}). */
  invocation?: number;
  /** What the program may know of its invocation. */
  context?: InvocationContext;
}

/** The invocation whose code runs now (see {@link OutputOwnership.current}). */
export interface CurrentInvocation {
  /** The id the entry point gave it, if any. */
  invocation?: number;
  /** Whether it still runs (false: code it left behind, a timer or a promise, runs after it returned). */
  running: boolean;
}

/** Routes output to the invocation that wrote it. */
export class OutputOwnership {
  private readonly context = new AsyncLocalStorage<Owner>();
  private restore?: () => void;
  /** The invocation started last: code running outside any invocation's context is blamed on it. */
  private latest?: Owner;

  /**
   * Runs `fn` as an invocation whose output goes to `sink` until `fn`
   * settles; output its leftovers write later goes nowhere. `invocation`
   * is the entry point's id for it, which {@link current} gives back.
   */
  async run<T>(
    sink: ProgramSink,
    fn: () => Promise<T>,
    invocation?: number,
    context?: InvocationContext,
  ): Promise<T> {
    const owner: Owner = { sink, running: true, invocation, context };
    this.latest = owner;
    try {
      return await this.context.run(owner, fn);
    } finally {
      owner.running = false;
    }
  }

  /**
   * The invocation whose code runs now, found through the async context (a
   * timer or a promise is the invocation's that scheduled it, even after it
   * returned); outside any invocation's context, the invocation started
   * last. Undefined before the first invocation.
   */
  current(): CurrentInvocation | undefined {
    const owner = this.context.getStore() ?? this.latest;
    return owner && owner.sink !== NO_SINK
      ? { invocation: owner.invocation, running: owner.running }
      : undefined;
  }

  /**
   * The context of the invocation whose code runs now, found through the
   * async context only (code left behind by an ended invocation, or running
   * outside any, gets none: it must not exchange in a round of a run that ended).
   */
  currentContext(): InvocationContext | undefined {
    const owner = this.context.getStore();
    return owner?.running ? owner.context : undefined;
  }

  /** Turns on async context tracking ahead of the first invocation (it costs the first run otherwise). */
  warm(): void {
    void this.context.run({ sink: NO_SINK, running: false }, () => Promise.resolve());
  }

  /**
   * Captures process.stdout/stderr writes and the display API for the
   * owning invocation; returns the function that undoes it. Once per process.
   */
  capture(): () => void {
    if (this.restore) {
      return this.restore;
    }
    const previous = getOutputSink();
    const unpatch = [this.patchStreamLazily('stdout'), this.patchStreamLazily('stderr')];
    const fallback = setOutputSink(this.outputSink(previous));
    this.restore = () => {
      unpatch.forEach((undo) => undo());
      setOutputSink(fallback);
      this.restore = undefined;
    };
    return this.restore;
  }

  /** The sink of the invocation that owns output written now, if it still runs. */
  private owner(): ProgramSink | undefined {
    const owner = this.context.getStore();
    return owner?.running ? owner.sink : undefined;
  }

  /** The process-wide output sink: the owning invocation's, else `fallback` (text only). */
  private outputSink(fallback: OutputSink): OutputSink {
    return {
      stream: (name, text) => (this.owner() ?? fallback).stream(name, text),
      display: (data, metadata, displayId, update) =>
        this.owner()?.display(data, metadata, displayId, update),
      clear: (wait) => this.owner()?.clear(wait),
      event: (event) => this.owner()?.event(event),
    };
  }

  /** Sends writes made by the owning invocation as its output; the rest go to the stream. */
  private patchWrite(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): () => void {
    const original = stream.write;
    const write = original.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const sink = this.owner();
      if (!sink) {
        return write(chunk, ...rest);
      }
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      sink.stream(name, text);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (callback) {
        process.nextTick(callback);
      }
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  }

  /**
   * Patches process.stdout/stderr when first used: creating the stream
   * objects loads Node's net machinery, which every cold start would pay.
   */
  private patchStreamLazily(name: 'stdout' | 'stderr'): () => void {
    const descriptor = Object.getOwnPropertyDescriptor(process, name);
    const getter = descriptor?.get;
    if (!descriptor || !getter) {
      return this.patchWrite(process[name], name);
    }
    let stream: NodeJS.WriteStream | undefined;
    let unpatch: (() => void) | undefined;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: descriptor.enumerable,
      get: () => {
        if (!stream) {
          stream = getter.call(process) as NodeJS.WriteStream;
          unpatch = this.patchWrite(stream, name);
        }
        return stream;
      },
    });
    return () => {
      unpatch?.();
      Object.defineProperty(process, name, descriptor);
    };
  }
}

const NO_SINK: ProgramSink = {
  stream: () => undefined,
  display: () => undefined,
  clear: () => undefined,
  event: () => undefined,
};

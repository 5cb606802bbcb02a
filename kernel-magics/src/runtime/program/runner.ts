/**
 * Runs shipped programs, the way a warm Lambda keeps its handler loaded:
 * programs are compiled once and kept by hash, captures are kept as bytes
 * and decoded afresh for every invocation, `require` resolves from the
 * notebook's directory. It sends nothing itself: output goes to the sink
 * the caller passes, and the outcome is returned. Every backend's entry
 * point runs programs through it (never a copy).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { deserialize } from 'node:v8';
import { runInThisContext } from 'node:vm';

import type { ProgramResult, RemoteError } from '../backend';
import { requireWithShipped } from '../../shipped-packages';
import { setInvocationSource } from './context';
import type { ProgramInputs } from './inputs';
import { OutputOwnership, ProgramSink } from './output';
import { peakRssMb } from './peak-memory';
import { ownQueuedMs } from '../cpu-time';
import { toRemoteError } from './remote-error';
import { serializeResult } from './result';

type ProgramFn = (
  captures: Record<string, unknown>,
  element: unknown,
  require: NodeJS.Require,
) => Promise<ProgramResult>;

/**
 * How one program run ended: the V8-serialized ProgramResult, or what the
 * program threw (or why its result cannot travel).
 */
export type ProgramOutcome = ({ ok: true; result: Uint8Array } | { ok: false; error: RemoteError }) & {
  /** ms from handing the program its inputs to its serialized result (0 when it never started). */
  durationMs: number;
  /** Peak resident memory of the process so far, MB (0 when it never started). */
  maxRssMb: number;
  /**
   * CPU time (user + system) the process used while the program ran, ms: what
   * a Lambda's CPU share stretches (cost/cpu-share.ts); 0 when it never started.
   */
  cpuMs: number;
  /**
   * ms its main thread waited for a CPU that other processes had (the host's
   * run queue, runtime/cpu-time.ts), while it ran; 0 when not known.
   */
  queuedMs: number;
};

/** The environment-side program runner (one per process). */
export class ProgramRunner {
  /** Programs by hash: their source until first run, then the compiled function. */
  private readonly programs = new Map<string, ProgramFn | { source: string; filename: string }>();
  /** Capture bytes by hash; `null` when they decode to an empty object (nothing to decode per invocation). */
  private readonly captureBytes = new Map<string, Uint8Array | null>();
  private readonly requires = new Map<string, NodeJS.Require>();
  readonly output = new OutputOwnership();

  constructor() {
    // The cell API (exchange, models) learns its invocation from the runner that runs it.
    setInvocationSource(() => this.output.currentContext());
  }

  /**
   * Keeps what an invocation brings (program, captures) and drops what the
   * kernel forgot. Called when an invocation arrives, not when it runs, so
   * what the environment holds is what the kernel sent, whether or not the
   * invocation that brought it runs.
   */
  keep(inputs: ProgramInputs): void {
    for (const hash of inputs.dropPrograms ?? []) {
      this.programs.delete(hash);
    }
    for (const hash of inputs.dropCaptures ?? []) {
      this.captureBytes.delete(hash);
    }
    if (inputs.program && !this.programs.has(inputs.programHash)) {
      this.programs.set(inputs.programHash, inputs.program);
    }
    if (inputs.captures) {
      // A copy unless the bytes are all of their buffer (a view would keep the whole read buffer alive).
      const bytes = inputs.captures;
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      this.captureBytes.set(inputs.capturesHash, own ? bytes : Uint8Array.prototype.slice.call(bytes));
    }
  }

  /**
   * Runs one invocation (after `keep`), its output going to `sink` while it
   * runs. Never rejects: a program that cannot be compiled or whose inputs
   * cannot be decoded ends with its error, as one that throws does.
   * `invocation` is the entry point's id for it (see OutputOwnership.current).
   */
  async run(inputs: ProgramInputs, sink: ProgramSink, invocation?: number): Promise<ProgramOutcome> {
    let fn: ProgramFn;
    let captures: Record<string, unknown>;
    let element: unknown;
    try {
      fn = this.programFor(inputs.programHash);
      captures = this.capturesFor(inputs.capturesHash);
      element = inputs.element === undefined ? undefined : (deserialize(inputs.element) as unknown);
    } catch (error) {
      return { ok: false, error: toRemoteError(error), durationMs: 0, maxRssMb: 0, cpuMs: 0, queuedMs: 0 };
    }
    const require = this.requireFor(inputs.cwd);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const queuedBefore = ownQueuedMs();
    let outcome: Uint8Array | RemoteError;
    try {
      const result = await this.output.run(
        sink,
        () => fn(captures, element, require),
        invocation,
        inputs.context,
      );
      outcome = serializeResult(result);
    } catch (thrown) {
      outcome = toRemoteError(thrown);
    }
    const durationMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const queuedAfter = queuedBefore === undefined ? undefined : ownQueuedMs();
    const queuedMs =
      queuedAfter === undefined || queuedBefore === undefined ? 0 : Math.max(0, queuedAfter - queuedBefore);
    const maxRssMb = peakRssMb(durationMs);
    return outcome instanceof Uint8Array
      ? { ok: true, result: outcome, durationMs, maxRssMb, cpuMs, queuedMs }
      : { ok: false, error: outcome, durationMs, maxRssMb, cpuMs, queuedMs };
  }

  private programFor(hash: string): ProgramFn {
    const held = this.programs.get(hash);
    if (held === undefined) {
      throw new Error(`program ${hash} was never sent to this environment`);
    }
    if (typeof held === 'function') {
      return held;
    }
    const fn = runInThisContext(held.source, { filename: held.filename }) as ProgramFn;
    this.programs.set(hash, fn);
    return fn;
  }

  /** Fresh captures for each invocation: one invocation's mutations never leak into the next. */
  private capturesFor(hash: string): Record<string, unknown> {
    const bytes = this.captureBytes.get(hash);
    if (bytes === undefined) {
      throw new Error(`captures ${hash} were never sent to this environment`);
    }
    if (bytes === null) {
      return {};
    }
    const decoded = deserialize(bytes) as Record<string, unknown>;
    if (Object.keys(decoded).length === 0) {
      this.captureBytes.set(hash, null);
    }
    return decoded;
  }

  /**
   * `require` for programs: resolves from the notebook's directory; `serverless-kernel` is this package,
   * and the packages the kernel ships fall back to its copies.
   */
  private requireFor(cwd: string): NodeJS.Require {
    let cached = this.requires.get(cwd);
    if (!cached) {
      const base = createRequire(path.join(cwd, 'noop.js'));
      const wrapped = ((id: string): unknown =>
        id === 'serverless-kernel'
          ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- a program's require is CommonJS
            (require('../../index') as unknown)
          : requireWithShipped(base, id)) as NodeJS.Require;
      cached = Object.assign(wrapped, {
        resolve: base.resolve,
        cache: base.cache,
        extensions: base.extensions,
        main: base.main,
      });
      this.requires.set(cwd, cached);
    }
    return cached;
  }
}

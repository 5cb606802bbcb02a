/**
 * The entry point of an execution environment (a worker process of the
 * embedded runtime). It loads programs once and keeps them (warm starts),
 * runs one invocation at a time (those handed while one runs wait in line),
 * and sends its output, displays and result
 * back over its data channel (fd 3, see frames.ts). Imports are kept few:
 * they are part of every cold start.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { runInThisContext } from 'node:vm';

import { setOutputSink } from '../../output/sink';
import type { ProgramResult, RemoteError } from '../backend';
import { encodeFrame, FrameDecoder } from './frames';
import type { InvokeMessage, KernelMessage, RunFacts, WorkerMessage } from './protocol';
import type * as Serializable from './serializable';

type ProgramFn = (
  captures: Record<string, unknown>,
  element: unknown,
  require: NodeJS.Require,
) => Promise<ProgramResult>;

/**
 * Programs by hash: compiled once first run, their source until then. What
 * an invocation brings is kept when it arrives (not when it runs), so what
 * this environment holds is what the kernel sent, whether or not the
 * invocations that brought it ran (one given back never does).
 */
/** How old a reading of the peak resident memory an invocation may report (see peakRssMb). */
const PEAK_RSS_REUSE_MS = 10;

const programs = new Map<string, ProgramFn | { source: string; filename: string }>();
/** Capture bytes by hash; `null` when they decode to an empty object (nothing to decode per invocation). */
const captureBytes = new Map<string, Uint8Array | null>();
const requires = new Map<string, NodeJS.Require>();
/**
 * The invocation a piece of code runs for: output is attributed through the
 * async context, so a timer a finished invocation left behind never writes
 * into the output of the one running now.
 */
const invocation = new AsyncLocalStorage<number>();
/** The invocation running now (undefined between invocations). */
let running: number | undefined;

/** The data channel to the kernel (fd 3, see frames.ts); opened in main(). */
let channel: Socket | undefined;

function send(message: WorkerMessage): void {
  const parts = encodeFrame(message);
  if (parts.length === 1) {
    channel?.write(parts[0]);
    return;
  }
  channel?.cork();
  for (const part of parts) {
    channel?.write(part);
  }
  channel?.uncork();
}

/** The invocation that owns output written now, if it is still running. */
function owner(): number | undefined {
  const seq = invocation.getStore();
  return seq !== undefined && seq === running ? seq : undefined;
}

/** Sends writes made by the running invocation as its output; the rest go to the process's own stream. */
function patchWrite(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): void {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const seq = owner();
    if (seq === undefined) {
      return original(chunk, ...rest);
    }
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    send({ type: 'stream', seq, name, text });
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) {
      process.nextTick(callback);
    }
    return true;
  }) as typeof stream.write;
}

/**
 * Patches process.stdout/stderr when first used: creating the stream objects
 * loads Node's net machinery, which would otherwise slow every cold start.
 */
function patchStreamLazily(name: 'stdout' | 'stderr'): void {
  const descriptor = Object.getOwnPropertyDescriptor(process, name);
  const getter = descriptor?.get;
  if (!getter) {
    patchWrite(process[name], name);
    return;
  }
  let stream: NodeJS.WriteStream | undefined;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: descriptor.enumerable,
    get: () => {
      if (!stream) {
        stream = getter.call(process) as NodeJS.WriteStream;
        patchWrite(stream, name);
      }
      return stream;
    },
  });
}

/** `require` for programs: resolves from the notebook's directory; `serverless-kernel` is this package. */
function requireFor(cwd: string): NodeJS.Require {
  let cached = requires.get(cwd);
  if (!cached) {
    const base = createRequire(path.join(cwd, 'noop.js'));
    const wrapped = ((id: string): unknown =>
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a program's require is CommonJS
      id === 'serverless-kernel' ? (require('../../index') as unknown) : base(id)) as NodeJS.Require;
    cached = Object.assign(wrapped, {
      resolve: base.resolve,
      cache: base.cache,
      extensions: base.extensions,
      main: base.main,
    });
    requires.set(cwd, cached);
  }
  return cached;
}

function toRemoteError(thrown: unknown): RemoteError {
  if (thrown instanceof Error) {
    return {
      name: thrown.name,
      message: thrown.message,
      stack: thrown.stack ?? `${thrown.name}: ${thrown.message}`,
    };
  }
  const text = String(thrown);
  return { name: 'Error', message: text, stack: `Error: ${text}` };
}

/**
 * Serializes the result. Declarations that cannot travel are left out
 * (functions silently, others named in `notReturned`); a value that cannot
 * travel is an error that names the part at fault and says what to do.
 */
function serializeResult(result: ProgramResult): Uint8Array | RemoteError {
  try {
    return serialize(result);
  } catch (error) {
    // Loaded on this failure path only: every module loaded at start is part of every cold start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
    const { describeUnserializable, serializable } = require('./serializable') as typeof Serializable;
    const detail = error instanceof Error ? error.message : String(error);
    const culprit = describeUnserializable(result.value, "the cell's value");
    if (culprit !== undefined) {
      return {
        name: 'ResultNotSerializable',
        message:
          `The cell's value cannot be sent back to the kernel: ${culprit} (${detail}). Return plain data ` +
          '(numbers, strings, arrays, objects, Maps, Sets, typed arrays), not functions, class instances ' +
          'with methods or handles; or assign it to a variable inside the cell and return what you need.',
        stack: '',
      };
    }
    const exports: Record<string, unknown> = {};
    const notReturned: string[] = [];
    for (const [name, value] of Object.entries(result.exports ?? {})) {
      if (serializable(value)) {
        exports[name] = value;
      } else if (typeof value !== 'function') {
        notReturned.push(name);
      }
    }
    return serialize({ ...result, exports, notReturned });
  }
}

/** The peak resident memory last read (MB), and when (performance.now()). */
let peakRss = { mb: 0, at: Number.NEGATIVE_INFINITY };

/**
 * The process's peak resident memory so far, MB. Reading it (getrusage) costs
 * ~9 us here, more than a trivial invocation: a burst of short invocations
 * reuses a reading up to PEAK_RSS_REUSE_MS old; one that ran that long reads
 * it afresh. (The kernel side also samples the environment's memory.)
 */
function peakRssMb(durationMs: number): number {
  const now = performance.now();
  if (durationMs >= PEAK_RSS_REUSE_MS || now - peakRss.at >= PEAK_RSS_REUSE_MS) {
    peakRss = { mb: process.resourceUsage().maxRSS / 1024, at: now };
  }
  return peakRss.mb;
}

/** Keeps what an invocation brings (program, captures) and drops what the kernel forgot. */
function receive(message: InvokeMessage): void {
  for (const hash of message.dropPrograms ?? []) {
    programs.delete(hash);
  }
  for (const hash of message.dropCaptures ?? []) {
    captureBytes.delete(hash);
  }
  if (message.program && !programs.has(message.programHash)) {
    programs.set(message.programHash, message.program);
  }
  if (message.captures) {
    // A copy unless the bytes are all of their buffer (a view would keep the whole read buffer alive).
    const bytes = message.captures;
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    captureBytes.set(message.capturesHash, own ? bytes : Uint8Array.prototype.slice.call(bytes));
  }
}

function programFor(message: InvokeMessage): ProgramFn {
  const held = programs.get(message.programHash);
  if (held === undefined) {
    throw new Error(`program ${message.programHash} was never sent to this environment`);
  }
  if (typeof held === 'function') {
    return held;
  }
  const fn = runInThisContext(held.source, { filename: held.filename }) as ProgramFn;
  programs.set(message.programHash, fn);
  return fn;
}

/** Fresh captures for each invocation: one invocation's mutations never leak into the next. */
function capturesFor(message: InvokeMessage): Record<string, unknown> {
  const bytes = captureBytes.get(message.capturesHash);
  if (bytes === undefined) {
    throw new Error(`captures ${message.capturesHash} were never sent to this environment`);
  }
  if (bytes === null) {
    return {};
  }
  const decoded = deserialize(bytes) as Record<string, unknown>;
  if (Object.keys(decoded).length === 0) {
    captureBytes.set(message.capturesHash, null);
  }
  return decoded;
}

async function invoke(message: InvokeMessage): Promise<void> {
  const fn = programFor(message);
  const captures = capturesFor(message);
  const element = message.element === undefined ? undefined : (deserialize(message.element) as unknown);
  const started = performance.now();
  running = message.seq;
  let outcome: Uint8Array | RemoteError;
  try {
    const result = await invocation.run(message.seq, fn, captures, element, requireFor(message.cwd));
    outcome = serializeResult(result);
  } catch (thrown) {
    outcome = toRemoteError(thrown);
  }
  running = undefined;
  const facts: RunFacts = {
    seq: message.seq,
    durationMs: performance.now() - started,
    maxRssMb: peakRssMb(performance.now() - started),
    sentAt: performance.timeOrigin + performance.now(),
  };
  send(
    outcome instanceof Uint8Array
      ? { type: 'result', result: outcome, ...facts }
      : { type: 'error', error: outcome, ...facts },
  );
}

/** Invocations handed to this environment and not started yet, in order. */
const line: InvokeMessage[] = [];
let draining = false;

/**
 * Runs the invocations in line one at a time, each as soon as the one
 * before has sent its result (the kernel hands several at once to an
 * environment that runs short ones).
 */
async function drain(): Promise<void> {
  draining = true;
  for (let message = line.shift(); message; message = line.shift()) {
    try {
      await invoke(message);
    } catch (error) {
      // Compiling the program or decoding its inputs failed: the program's error, not a crash.
      running = undefined;
      const sentAt = performance.timeOrigin + performance.now();
      send({
        type: 'error',
        error: toRemoteError(error),
        seq: message.seq,
        durationMs: 0,
        maxRssMb: 0,
        sentAt,
      });
    }
  }
  draining = false;
}

/** Gives back the invocations of `seqs` still in line (not started), and tells the kernel which. */
function withdraw(seqs: number[]): void {
  const given: number[] = [];
  for (let i = line.length - 1; i >= 0; i -= 1) {
    if (seqs.includes(line[i].seq)) {
      given.push(line[i].seq);
      line.splice(i, 1);
    }
  }
  send({ type: 'withdrawn', seqs: given });
}

function main(): void {
  patchStreamLazily('stdout');
  patchStreamLazily('stderr');
  setOutputSink({
    stream: (name, text) => {
      const seq = owner();
      if (seq !== undefined) {
        send({ type: 'stream', seq, name, text });
      }
    },
    display: (data, metadata, displayId, update) => {
      const seq = owner();
      if (seq !== undefined) {
        send({ type: 'display', seq, data, metadata, displayId, update });
      }
    },
    clear: (wait) => {
      const seq = owner();
      if (seq !== undefined) {
        send({ type: 'clear', seq, wait });
      }
    },
  });
  channel = new Socket({ fd: 3, readable: true, writable: true });
  const decoder = new FrameDecoder<KernelMessage>();
  const onMessage = (message: KernelMessage): void => {
    if (message.type === 'invoke') {
      receive(message);
      line.push(message);
      if (!draining) {
        void drain();
      }
    } else if (message.type === 'withdraw') {
      withdraw(message.seqs);
    }
  };
  channel.on('data', (chunk: Buffer) => decoder.push(chunk, onMessage));
  // The kernel went away (or the program closed fd 3): an environment never outlives its channel.
  channel.on('end', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  send({ type: 'ready' });
  // The first run of an AsyncLocalStorage turns on async hooks (~0.5 ms): done while the
  // kernel sends the first invocation, rather than in it.
  void invocation.run(0, () => Promise.resolve());
}

main();

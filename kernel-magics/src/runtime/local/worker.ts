/**
 * The entry point of an execution environment (a worker process of the
 * embedded runtime). It loads programs once and keeps them (warm starts),
 * runs one invocation at a time, and sends its output, displays and result
 * back over IPC. Imports are kept few: they are part of every cold start.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { runInThisContext } from 'node:vm';

import { setOutputSink } from '../../output/sink';
import type { ProgramResult, RemoteError } from '../backend';
import type { InvokeMessage, WorkerMessage } from './protocol';

type ProgramFn = (
  captures: Record<string, unknown>,
  element: unknown,
  require: NodeJS.Require,
) => Promise<ProgramResult>;

const programs = new Map<string, ProgramFn>();
const captureBytes = new Map<string, Uint8Array>();
const requires = new Map<string, NodeJS.Require>();
/** The invocation output belongs to (undefined between invocations). */
let current: number | undefined;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Sends writes made during an invocation as its output; the rest go to the process's own stream. */
function patchWrite(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): void {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (current === undefined) {
      return original(chunk, ...rest);
    }
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    send({ type: 'stream', seq: current, name, text });
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
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
  const text = typeof thrown === 'string' ? thrown : String(thrown);
  return { name: 'Error', message: text, stack: `Error: ${text}` };
}

function serializable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Serializes the result. Declarations that cannot travel are left out
 * (functions silently, others named in `notReturned`); a value that cannot
 * travel is an error that says so.
 */
function serializeResult(result: ProgramResult): Uint8Array | RemoteError {
  try {
    return serialize(result);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (!serializable(result.value)) {
      return {
        name: 'ResultNotSerializable',
        message:
          `The cell's value cannot be sent back to the kernel (${detail}). Return plain data (numbers, ` +
          `strings, arrays, objects, Maps, Sets, typed arrays), not functions, class instances with methods or handles.`,
        stack: '',
      };
    }
    const exports: Record<string, unknown> = {};
    const notReturned: string[] = [];
    for (const [name, value] of Object.entries(result.exports)) {
      if (serializable(value)) {
        exports[name] = value;
      } else if (typeof value !== 'function') {
        notReturned.push(name);
      }
    }
    return serialize({ ...result, exports, notReturned });
  }
}

async function invoke(message: InvokeMessage): Promise<void> {
  let fn = programs.get(message.programHash);
  if (!fn) {
    if (!message.program) {
      throw new Error(`program ${message.programHash} was never sent to this environment`);
    }
    fn = runInThisContext(message.program.source, { filename: message.program.filename }) as ProgramFn;
    programs.set(message.programHash, fn);
  }
  if (message.captures) {
    captureBytes.set(message.capturesHash, message.captures);
  }
  const bytes = captureBytes.get(message.capturesHash);
  // Fresh copies per invocation: one invocation's mutations never leak into the next.
  const captures = bytes ? (deserialize(bytes) as Record<string, unknown>) : {};
  const element = message.element ? (deserialize(message.element) as unknown) : undefined;
  current = message.seq;
  const started = performance.now();
  let outcome: Uint8Array | RemoteError;
  try {
    outcome = serializeResult(await fn(captures, element, requireFor(message.cwd)));
  } catch (thrown) {
    outcome = toRemoteError(thrown);
  }
  const durationMs = performance.now() - started;
  current = undefined;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  if (outcome instanceof Uint8Array) {
    send({ type: 'result', seq: message.seq, result: outcome, durationMs, maxRssMb });
  } else {
    send({ type: 'error', seq: message.seq, error: outcome, durationMs, maxRssMb });
  }
}

function main(): void {
  patchStreamLazily('stdout');
  patchStreamLazily('stderr');
  setOutputSink({
    stream: (name, text) => {
      if (current !== undefined) {
        send({ type: 'stream', seq: current, name, text });
      }
    },
    display: (data, metadata, displayId, update) => {
      if (current !== undefined) {
        send({ type: 'display', seq: current, data, metadata, displayId, update });
      }
    },
    clear: () => undefined,
  });
  process.on('message', (message: InvokeMessage) => {
    if (message.type === 'invoke') {
      invoke(message).catch((error: unknown) => {
        current = undefined;
        send({ type: 'error', seq: message.seq, error: toRemoteError(error), durationMs: 0, maxRssMb: 0 });
      });
    }
  });
  // The kernel went away: an environment never outlives it.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main();

/**
 * The entry point of an execution environment (a worker process of the
 * embedded runtime): the local transport over runtime/program. It receives
 * invocations on its data channel (fd 3, see frames.ts), runs them one at a
 * time through the program runner (those handed while one runs wait in
 * line), and sends their output, events and results back on the channel.
 *
 * Cold starts: everything loaded before the first result is part of every
 * cold start. The worker is bundled into one file (scripts/bundle-worker.mjs),
 * and the first invocation travels on fd 3 read and written synchronously
 * (the fd is a blocking socket until Node takes it over): node:net, which
 * carries the rest, costs more to load than the invocation itself, so it is
 * loaded only once the first invocation has started.
 */
import { readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';

import { ProgramRunner, ProgramSink } from '../program';
import { ExitProcess, guardProcess } from '../program/process-guard';
import { writeEndReport } from './end-report';
import { encodeFrame, FrameDecoder } from './frames';
import type { InvokeMessage, KernelMessage, WorkerMessage } from './protocol';
import { startWatchdogIfAsked } from './watchdog';

const runner = new ProgramRunner();
/**
 * Uncaught errors, process.exit and self-kills by programs are reported to
 * the kernel (on stderr, see end-report.ts) before the process ends;
 * `exitProcess` is the process's own exit, for the worker's own reasons.
 */
const exitProcess: ExitProcess = guardProcess(runner.output, writeEndReport);

/** The data channel's file descriptor (see frames.ts). */
const CHANNEL_FD = 3;
/** How much one synchronous read of the first invocation takes at most. */
const FIRST_READ_BYTES = 64 * 1024;

/** The data channel as a socket, once opened (see openChannel); until then, fd 3 directly. */
let channel: Socket | undefined;
const decoder = new FrameDecoder<KernelMessage>();

function send(message: WorkerMessage): void {
  const parts = encodeFrame(message);
  if (!channel) {
    for (const part of parts) {
      writeFully(part);
    }
    return;
  }
  if (parts.length === 1) {
    channel.write(parts[0]);
    return;
  }
  channel.cork();
  for (const part of parts) {
    channel.write(part);
  }
  channel.uncork();
}

/** Writes all of `bytes` to fd 3 (blocking), or ends the worker if the kernel is gone. */
function writeFully(bytes: Uint8Array): void {
  try {
    for (let offset = 0; offset < bytes.byteLength;) {
      offset += writeSync(CHANNEL_FD, bytes, offset);
    }
  } catch {
    // The kernel went away: an environment never outlives its channel.
    exitProcess(0);
  }
}

/** The sink of invocation `seq`: its output, tagged with its sequence number. */
function sinkFor(seq: number): ProgramSink {
  return {
    stream: (name, text) => send({ type: 'stream', seq, name, text }),
    display: (data, metadata, displayId, update) =>
      send({ type: 'display', seq, data, metadata, displayId, update }),
    clear: (wait) => send({ type: 'clear', seq, wait }),
    event: (event) => send({ type: 'event', seq, event }),
  };
}

async function invoke(message: InvokeMessage): Promise<void> {
  const outcome = await runner.run(message, sinkFor(message.seq), message.seq);
  const facts = {
    seq: message.seq,
    durationMs: outcome.durationMs,
    maxRssMb: outcome.maxRssMb,
    cpuMs: outcome.cpuMs,
    queuedMs: outcome.queuedMs,
    sentAt: performance.timeOrigin + performance.now(),
  };
  send(
    outcome.ok
      ? { type: 'result', result: outcome.result, ...facts }
      : { type: 'error', error: outcome.error, ...facts },
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
    await invoke(message);
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

/** Whether an invocation has arrived. */
let invoked = false;

function onMessage(message: KernelMessage): void {
  if (message.type === 'invoke') {
    invoked = true;
    runner.keep(message);
    line.push(message);
    if (!draining) {
      void drain();
    }
  } else if (message.type === 'withdraw') {
    withdraw(message.seqs);
  }
}

/**
 * Reads fd 3 synchronously until an invocation arrives (the kernel sends one
 * as soon as it sees `ready`); false when the fd is not blocking, and the
 * socket must read it.
 */
function readFirstInvocation(): boolean {
  while (!invoked) {
    // A fresh buffer per read: decoded payloads may be views into it.
    const buffer = Buffer.allocUnsafe(FIRST_READ_BYTES);
    let read: number;
    try {
      read = readSync(CHANNEL_FD, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        return false;
      }
      exitProcess(0);
    }
    if (read === 0) {
      // The kernel went away before giving this environment anything.
      exitProcess(0);
    }
    decoder.push(buffer.subarray(0, read), onMessage);
  }
  return true;
}

/** Opens the socket that carries everything after the first invocation. */
function openChannel(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the first invocation started (see above)
  const { Socket } = require('node:net') as typeof import('node:net');
  try {
    channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  } catch {
    // The program closed fd 3 before the socket took it over; the kernel shows this line.
    process.stderr.write('The environment lost its channel to the kernel: the program closed fd 3.\n');
    exitProcess(1);
  }
  channel.on('data', (chunk: Buffer) => decoder.push(chunk, onMessage));
  // The kernel went away (or the program closed fd 3): an environment never outlives its channel.
  channel.on('end', () => exitProcess(0));
  channel.on('error', () => exitProcess(0));
}

function main(): void {
  runner.output.capture();
  send({ type: 'ready' });
  // Async context tracking is turned on while the kernel sends the first invocation, rather than in it.
  runner.output.warm();
  // Before the first invocation, which may never give the main thread back.
  startWatchdogIfAsked();
  if (readFirstInvocation()) {
    // After the first invocation's synchronous part (and the whole of a trivial one).
    setImmediate(openChannel);
  } else {
    openChannel();
  }
}

main();

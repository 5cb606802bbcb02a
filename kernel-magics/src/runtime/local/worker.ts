/**
 * The entry point of an execution environment (a worker process of the
 * embedded runtime): the local transport over runtime/program. It receives
 * invocations on its data channel (fd 3, see frames.ts), runs them one at a
 * time through the program runner (those handed while one runs wait in
 * line), and sends their output, events and results back on the channel.
 * Imports are kept few: they are part of every cold start.
 */
import { Socket } from 'node:net';

import { ProgramRunner, ProgramSink } from '../program';
import { encodeFrame, FrameDecoder } from './frames';
import type { InvokeMessage, KernelMessage, WorkerMessage } from './protocol';

const runner = new ProgramRunner();

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
  const outcome = await runner.run(message, sinkFor(message.seq));
  const facts = {
    seq: message.seq,
    durationMs: outcome.durationMs,
    maxRssMb: outcome.maxRssMb,
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

function main(): void {
  runner.output.capture();
  channel = new Socket({ fd: 3, readable: true, writable: true });
  const decoder = new FrameDecoder<KernelMessage>();
  const onMessage = (message: KernelMessage): void => {
    if (message.type === 'invoke') {
      runner.keep(message);
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
  // Async context tracking is turned on while the kernel sends the first invocation, rather than in it.
  runner.output.warm();
}

main();

/**
 * The control thread: owns the control and heartbeat sockets in a worker
 * thread so that both answer while the main thread runs a busy cell.
 * `interrupt_request` is served here: SIGINT to our own process stops
 * synchronous top-level code (tslab runs it with breakOnSigint) and wakes the
 * main thread's handler that rejects pending awaits; if the main thread is
 * still unresponsive (a busy loop after an await), the inspector terminates
 * the running JavaScript. Every other control message goes to the main thread.
 */
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';

import * as zmq from 'zeromq';

import { ConnectionInfo, endpoint } from './connection';
import { createStderrLogger } from './log';
import { SerialSender } from './serial-sender';
import { decodeMessage, encodeMessage, HeaderFactory, MessageSigner, WireError } from './wire';

/** Data the main thread passes to the control thread. */
export interface ControlThreadData {
  connection: ConnectionInfo;
  /** Int32 flag: 1 while a cell executes on the main thread. */
  executing: SharedArrayBuffer;
  /** How long the main thread may stay unresponsive after SIGINT. */
  terminateAfterMs: number;
}

/** Messages between the main thread and the control thread. */
export type ControlThreadMessage =
  | { type: 'ready' }
  | { type: 'control'; frames: Uint8Array[] }
  | { type: 'send'; frames: Uint8Array[] }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number }
  | { type: 'close' };

function toBuffers(frames: Uint8Array[]): Buffer[] {
  return frames.map((frame) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
}

async function runControlThread(port: NonNullable<typeof parentPort>, data: ControlThreadData): Promise<void> {
  const log = createStderrLogger();
  const signer = new MessageSigner(data.connection.key, data.connection.signature_scheme);
  const headers = new HeaderFactory();
  const executing = new Int32Array(data.executing);
  const control = new zmq.Router();
  const heartbeat = new zmq.Reply();
  await control.bind(endpoint(data.connection, data.connection.control_port));
  await heartbeat.bind(endpoint(data.connection, data.connection.hb_port));
  const controlSender = new SerialSender(control, 'control', log);
  const inspector = new Session();
  inspector.connectToMainThread();
  let pingId = 0;
  let answeredPing = 0;

  const interruptMainThread = (): void => {
    process.kill(process.pid, 'SIGINT');
    const id = ++pingId;
    port.postMessage({ type: 'ping', id } satisfies ControlThreadMessage);
    setTimeout(() => {
      if (answeredPing < id && Atomics.load(executing, 0) === 1) {
        log.warn('Main thread did not respond to SIGINT: terminating the running cell');
        inspector.post('Runtime.terminateExecution', (error) => {
          if (error) {
            log.error(`Runtime.terminateExecution failed: ${error.message}`);
          }
        });
      }
    }, data.terminateAfterMs).unref();
  };

  port.on('message', (message: ControlThreadMessage) => {
    if (message.type === 'send') {
      controlSender.send(toBuffers(message.frames));
    } else if (message.type === 'pong') {
      answeredPing = Math.max(answeredPing, message.id);
    } else if (message.type === 'close') {
      void controlSender.drained().then(() => {
        control.close();
        heartbeat.close();
        inspector.disconnect();
        port.close();
      });
    }
  });

  const echoHeartbeats = async (): Promise<void> => {
    for await (const frames of heartbeat) {
      await heartbeat.send(frames);
    }
  };
  const serveControl = async (): Promise<void> => {
    for await (const frames of control) {
      let request;
      try {
        request = decodeMessage(frames, signer);
      } catch (error) {
        if (error instanceof WireError) {
          log.warn(`Dropped control message: ${error.message}`);
          continue;
        }
        throw error;
      }
      if (request.header.msg_type === 'interrupt_request') {
        interruptMainThread();
        const reply = { msgType: 'interrupt_reply', content: { status: 'ok' }, parent: request.header, identities: request.identities };
        controlSender.send(encodeMessage(reply, headers.create('interrupt_reply'), signer));
      } else {
        port.postMessage({ type: 'control', frames } satisfies ControlThreadMessage);
      }
    }
  };
  port.postMessage({ type: 'ready' } satisfies ControlThreadMessage);
  // Both loops end when their socket is closed.
  await Promise.allSettled([echoHeartbeats(), serveControl()]);
}

if (parentPort) {
  runControlThread(parentPort, workerData as ControlThreadData).catch((error: unknown) => {
    createStderrLogger().error(`Control thread failed: ${String((error as Error).stack ?? error)}`);
    process.exit(1);
  });
}

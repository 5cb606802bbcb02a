/**
 * Messages between an environment (kernel side) and its worker process, sent
 * as frames (see frames.ts) on the worker's fd 3: a JSON header, and byte
 * arrays (top-level `Uint8Array` fields) raw.
 */
import { JsonObject, MimeBundle } from '../../kernel/messages';
import { InvocationEvent, RemoteError } from '../backend';
import { ProgramInputs } from '../program/inputs';

/**
 * Kernel -> worker: run one invocation (after those sent before it: the
 * worker runs them one at a time, in order). Program and captures are sent once
 * per environment: the kernel side keeps the list of what the worker holds
 * (bounded, see config.ts) and names what the worker must drop.
 */
export interface InvokeMessage extends ProgramInputs {
  type: 'invoke';
  seq: number;
}

/**
 * Kernel -> worker: give back these invocations if they have not started
 * (the run stopped, or they wait behind one that runs long). The worker
 * answers `withdrawn` with those it gave back; the others run.
 */
export interface WithdrawMessage {
  type: 'withdraw';
  seqs: number[];
}

/** Kernel -> worker messages. */
export type KernelMessage = InvokeMessage | WithdrawMessage;

/** Facts the worker measures around a program run. */
export interface RunFacts {
  seq: number;
  /** ms from handing the program its inputs to its serialized result. */
  durationMs: number;
  /** Peak resident memory of the worker so far, MB (a recent reading, see program/peak-memory.ts). */
  maxRssMb: number;
  /** CPU time the worker used while the program ran (user + system), ms. */
  cpuMs: number;
  /** ms its main thread waited in this machine's run queue while the program ran (0 when not known). */
  queuedMs: number;
  /**
   * When the worker sent this (epoch ms, high resolution): the invocation
   * next in its line started then, however late the kernel reads it.
   */
  sentAt: number;
}

/** Worker -> kernel messages. Output messages carry the `seq` of the invocation that wrote them. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'stream'; seq: number; name: 'stdout' | 'stderr'; text: string }
  | {
      type: 'display';
      seq: number;
      data: MimeBundle;
      metadata: JsonObject;
      displayId?: string;
      update?: boolean;
    }
  | { type: 'clear'; seq: number; wait: boolean }
  | { type: 'event'; seq: number; event: InvocationEvent }
  | { type: 'withdrawn'; seqs: number[] }
  | ({ type: 'result'; result: Uint8Array } & RunFacts)
  | ({ type: 'error'; error: RemoteError } & RunFacts);

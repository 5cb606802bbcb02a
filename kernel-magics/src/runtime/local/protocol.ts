/**
 * Messages between an environment (kernel side) and its worker process, sent
 * over Node's IPC channel with advanced (structured clone) serialization, so
 * byte arrays travel without JSON.
 */
import { JsonObject, MimeBundle } from '../../kernel/messages';
import { RemoteError } from '../backend';

/** Kernel -> worker: run one invocation. Program and captures are sent once per environment. */
export interface InvokeMessage {
  type: 'invoke';
  seq: number;
  programHash: string;
  /** Present the first time this environment sees the program. */
  program?: { source: string; filename: string };
  capturesHash: string;
  /** Present the first time this environment sees these captures. */
  captures?: Uint8Array;
  /** The serialized element; absent without --map. */
  element?: Uint8Array;
  cwd: string;
}

/** Worker -> kernel messages. */
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
  | { type: 'result'; seq: number; result: Uint8Array; durationMs: number; maxRssMb: number }
  | { type: 'error'; seq: number; error: RemoteError; durationMs: number; maxRssMb: number };

/**
 * Jupyter messaging protocol types (spec 5.3), as the kernel sends and
 * receives them. Content types are kept loose where the spec allows extra
 * fields; handlers validate the fields they read.
 */

/** The protocol version this kernel speaks. */
export const PROTOCOL_VERSION = '5.3';

/** The channel a message arrived on or is sent on. */
export type Channel = 'shell' | 'control' | 'iopub' | 'stdin';

/** A message header (identical shape for header and parent_header). */
export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

/** A JSON object as it appears in message content and metadata. */
export type JsonObject = { [key: string]: unknown };

/** A decoded Jupyter message. */
export interface JupyterMessage<C extends JsonObject = JsonObject> {
  /** ZeroMQ routing identities (shell/control/stdin replies go back to them). */
  identities: Buffer[];
  header: MessageHeader;
  /** Empty object when the message has no parent. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: C;
  buffers: Buffer[];
  /** The HMAC it arrived with (received messages; what replays are recognised by). */
  signature?: string;
}

/** A MIME bundle: MIME type to representation. */
export type MimeBundle = { [mime: string]: unknown };

/** The `error` part of replies and the iopub `error` message. */
export interface ErrorContent extends JsonObject {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Reads a string field of untyped content, with a default. */
export function stringField(content: JsonObject, key: string, fallback = ''): string {
  const value = content[key];
  return typeof value === 'string' ? value : fallback;
}

/** Reads a boolean field of untyped content, with a default. */
export function booleanField(content: JsonObject, key: string, fallback: boolean): boolean {
  const value = content[key];
  return typeof value === 'boolean' ? value : fallback;
}

/** Reads a finite number field of untyped content, or undefined. */
export function numberField(content: JsonObject, key: string): number | undefined {
  const value = content[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Reads an object field of untyped content, or an empty object. */
export function objectField(content: JsonObject, key: string): JsonObject {
  const value = content[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** A message part that carries binary frames (identities and buffers). */
interface WithFrames {
  identities?: Uint8Array[];
  buffers?: Uint8Array[];
}

/**
 * Prepares a message to cross threads: frames copied into Uint8Arrays that
 * own exactly their bytes. postMessage clones a view's whole backing
 * ArrayBuffer (Node's 8 KiB pool, or a socket's receive buffer).
 */
export function toThreadMessage<T extends WithFrames>(message: T): T {
  const own = (frames?: Uint8Array[]): Uint8Array[] => (frames ?? []).map((frame) => new Uint8Array(frame));
  return { ...message, identities: own(message.identities), buffers: own(message.buffers) };
}

/** Undoes {@link toThreadMessage} on the receiving thread: frames become Buffers again. */
export function fromThreadMessage<T extends WithFrames>(
  message: T,
): T & { identities: Buffer[]; buffers: Buffer[] } {
  const buffers = (frames?: Uint8Array[]): Buffer[] =>
    (frames ?? []).map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  return { ...message, identities: buffers(message.identities), buffers: buffers(message.buffers) };
}

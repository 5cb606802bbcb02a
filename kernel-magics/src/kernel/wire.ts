/**
 * The Jupyter wire format: frames <-> messages, with HMAC signing.
 * Pure functions, no sockets, so they are unit-tested directly.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

import { JsonObject, JupyterMessage, MessageHeader, PROTOCOL_VERSION } from './messages';
import { SignatureHistory } from './signature-history';

const DELIMITER = '<IDS|MSG>';

/**
 * A frame as the kernel sends it. Text frames (delimiter, signature, JSON)
 * are strings: zeromq copies those and frees the copy itself, while it sends
 * a Buffer over 128 bytes in place and then has to wake the sending thread's
 * event loop to release it, once per frame (measured on every reply).
 */
export type Frame = Buffer | string;

function frameText(frame: Frame): string {
  return typeof frame === 'string' ? frame : frame.toString('utf8');
}

function frameBuffer(frame: Frame): Buffer {
  return typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
}

/** Raised when a frame list is not a valid, correctly signed message. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** Signs and verifies messages with the connection file's key and scheme. */
export class MessageSigner {
  private readonly key: Buffer;
  private readonly algorithm: string;

  /**
   * @param key - the connection file's `key`; empty disables signing.
   * @param scheme - the connection file's `signature_scheme`, e.g. `hmac-sha256`.
   */
  constructor(key: string, scheme = 'hmac-sha256') {
    this.key = Buffer.from(key, 'utf8');
    const match = /^hmac-([a-z0-9-]+)$/.exec(scheme);
    if (!match) {
      throw new WireError(`Unsupported signature scheme "${scheme}" (expected hmac-<digest>)`);
    }
    this.algorithm = match[1];
  }

  /** The hex signature of the four JSON frames. */
  sign(frames: readonly Frame[]): string {
    if (this.key.length === 0) {
      return '';
    }
    const hmac = createHmac(this.algorithm, this.key);
    for (const frame of frames) {
      hmac.update(frame);
    }
    return hmac.digest('hex');
  }

  /** True when `signature` matches the frames (constant-time comparison). */
  verify(signature: string, frames: readonly Frame[]): boolean {
    if (this.key.length === 0) {
      return true;
    }
    const expected = Buffer.from(this.sign(frames), 'utf8');
    const actual = Buffer.from(signature, 'utf8');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}

function parseJsonFrame(frame: Frame, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(frameText(frame));
  } catch {
    throw new WireError(`The ${what} frame is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WireError(`The ${what} frame is not a JSON object`);
  }
  return value as JsonObject;
}

function isHeader(value: JsonObject): value is JsonObject & MessageHeader {
  return typeof value.msg_id === 'string' && typeof value.msg_type === 'string';
}

/** The message of a replayed signature (jupyter_client's words, so logs read alike). */
export function duplicateSignature(signature: string): string {
  return `Duplicate Signature: '${signature}'`;
}

/**
 * Decodes and verifies the frames of a message received on a ROUTER socket.
 * With `history`, a signature seen before is refused (a replay) and a new
 * one is remembered, once the signature is known to be valid.
 */
export function decodeMessage(
  frames: readonly Frame[],
  signer: MessageSigner,
  history?: SignatureHistory,
): JupyterMessage {
  const split = frames.findIndex((frame) => frameText(frame) === DELIMITER);
  if (split < 0 || frames.length < split + 6) {
    throw new WireError('Message has no <IDS|MSG> delimiter or too few frames');
  }
  const signature = frameText(frames[split + 1]);
  const jsonFrames = frames.slice(split + 2, split + 6);
  if (!signer.verify(signature, jsonFrames)) {
    throw new WireError('Invalid message signature');
  }
  if (history && !history.admit(signature)) {
    throw new WireError(duplicateSignature(signature));
  }
  const header = parseJsonFrame(jsonFrames[0], 'header');
  if (!isHeader(header)) {
    throw new WireError('The header has no msg_id or msg_type');
  }
  return {
    signature,
    identities: frames.slice(0, split).map(frameBuffer),
    header,
    parent_header: parseJsonFrame(jsonFrames[1], 'parent_header') as unknown as MessageHeader,
    metadata: parseJsonFrame(jsonFrames[2], 'metadata'),
    content: parseJsonFrame(jsonFrames[3], 'content'),
    buffers: frames.slice(split + 6).map(frameBuffer),
  };
}

/**
 * The queue an outgoing message waits in when its socket is slow: the
 * kernel's own messages go first; `bulk` (telemetry) waits behind them.
 */
export type SendLane = 'kernel' | 'bulk';

/** What the kernel needs to build an outgoing message. */
export interface OutgoingMessage {
  msgType: string;
  content: JsonObject;
  parent?: MessageHeader | Record<string, never>;
  metadata?: JsonObject;
  identities?: Buffer[];
  buffers?: Buffer[];
  /** iopub only: `bulk` waits behind the kernel's own messages (see serial-sender.ts). */
  lane?: SendLane;
}

/** Builds headers for one kernel session. */
export class HeaderFactory {
  /** @param session - this kernel process's session id (shared by its threads). */
  constructor(readonly session: string = randomUUID()) {}

  /** A new header of the given type. */
  create(msgType: string): MessageHeader {
    return {
      msg_id: randomUUID(),
      msg_type: msgType,
      session: this.session,
      username: 'kernel',
      date: new Date().toISOString(),
      version: PROTOCOL_VERSION,
    };
  }
}

/** Encodes and signs an outgoing message into frames. */
export function encodeMessage(
  message: OutgoingMessage,
  header: MessageHeader,
  signer: MessageSigner,
): Frame[] {
  const json = [
    JSON.stringify(header),
    JSON.stringify(message.parent ?? {}),
    JSON.stringify(message.metadata ?? {}),
    JSON.stringify(message.content),
  ];
  return [...(message.identities ?? []), DELIMITER, signer.sign(json), ...json, ...(message.buffers ?? [])];
}

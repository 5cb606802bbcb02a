/**
 * The framing of the data channel between an environment and its worker: a
 * pipe (fd 3 of the worker) carrying length-prefixed frames, each a small
 * JSON header followed by the message's byte arrays, raw. Cheaper per
 * message than Node's IPC channel with advanced serialization (which builds a
 * V8 serializer, and a deserializer, per message) and without JSON's cost on
 * bytes: a warm invocation is one frame of ~200 bytes each way.
 *
 * Frame: `u32 LE length of the rest | u32 LE header length | header (UTF-8
 * JSON) | payload 0 | payload 1 | ...`. The header is the message with its
 * `Uint8Array` fields taken out and named, with their lengths, in `$b`.
 * Loaded by the worker: no imports.
 */

/** A message as it travels: JSON-able fields and byte arrays (top-level fields only). */
export type FrameMessage = object;

/** Payloads up to this size are copied into the frame's buffer; larger ones are written as they are. */
const INLINE_PAYLOAD_BYTES = 16 * 1024;
/** Decoded payloads up to this size are copied out of the read buffer, so they do not keep it alive. */
const COPY_PAYLOAD_BYTES = 4 * 1024;
const PREFIX_BYTES = 8;

/**
 * Encodes a message as one frame: one buffer, or a head buffer followed by
 * large payloads (to be written back to back, without copying them).
 */
export function encodeFrame(message: FrameMessage): Uint8Array[] {
  const fields = message as Record<string, unknown>;
  let header = fields;
  let payloads: Uint8Array[] | undefined;
  let payloadBytes = 0;
  for (const key in fields) {
    if (fields[key] instanceof Uint8Array) {
      payloads = [];
      break;
    }
  }
  if (payloads) {
    // `$b` goes last: deleting an object's last property keeps it fast when decoded.
    const names: [string, number][] = [];
    header = {};
    for (const key in fields) {
      const value = fields[key];
      if (value instanceof Uint8Array) {
        names.push([key, value.byteLength]);
        payloads.push(value);
        payloadBytes += value.byteLength;
      } else if (value !== undefined) {
        header[key] = value;
      }
    }
    header.$b = names;
  }
  const json = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(json);
  const inline = payloadBytes <= INLINE_PAYLOAD_BYTES;
  const head = Buffer.allocUnsafe(PREFIX_BYTES + headerBytes + (inline ? payloadBytes : 0));
  head.writeUInt32LE(4 + headerBytes + payloadBytes, 0);
  head.writeUInt32LE(headerBytes, 4);
  head.write(json, PREFIX_BYTES, 'utf8');
  if (!payloads) {
    return [head];
  }
  if (inline) {
    let offset = PREFIX_BYTES + headerBytes;
    for (const payload of payloads) {
      head.set(payload, offset);
      offset += payload.byteLength;
    }
    return [head];
  }
  return [head, ...payloads];
}

/**
 * Splits the bytes read from a channel into messages of type `T` (what the
 * other side sends; the decoder checks the framing, not the messages).
 */
export class FrameDecoder<T> {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes read; calls `onMessage` for every complete frame, in order. */
  push(chunk: Buffer, onMessage: (message: T) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      let first = this.chunks[0];
      if (first.length < 4) {
        first = this.merge();
      }
      const frameBytes = 4 + first.readUInt32LE(0);
      if (this.buffered < frameBytes) {
        return;
      }
      if (first.length < frameBytes) {
        first = this.merge();
      }
      const message = decode(first, frameBytes) as T;
      if (first.length === frameBytes) {
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(frameBytes);
      }
      this.buffered -= frameBytes;
      onMessage(message);
    }
  }

  private merge(): Buffer {
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [merged];
    return merged;
  }
}

function decode(buffer: Buffer, frameBytes: number): Record<string, unknown> {
  const headerBytes = buffer.readUInt32LE(4);
  let offset = PREFIX_BYTES + headerBytes;
  const message = JSON.parse(buffer.toString('utf8', PREFIX_BYTES, offset)) as Record<string, unknown>;
  const names = message.$b as [string, number][] | undefined;
  if (names) {
    delete message.$b;
    for (const [name, length] of names) {
      const view = buffer.subarray(offset, offset + length);
      message[name] = length <= COPY_PAYLOAD_BYTES ? new Uint8Array(view) : view;
      offset += length;
    }
  }
  if (offset !== frameBytes) {
    throw new Error(`malformed frame: ${frameBytes} bytes, ${offset} described`);
  }
  return message;
}

/**
 * The framing of the embedded runtime's data channel: messages with byte
 * arrays survive any split of the byte stream, several frames in one read,
 * large payloads written without copying; malformed bytes are refused.
 */
import { encodeFrame, FrameDecoder } from '../../kernel-magics/src/runtime/local/frames';

type Message = Record<string, unknown>;

const concat = (parts: Uint8Array[]): Buffer => Buffer.concat(parts.map((part) => Buffer.from(part)));

function decodeAll(bytes: Buffer, splits: number[]): Message[] {
  const decoder = new FrameDecoder<Message>();
  const out: Message[] = [];
  let start = 0;
  for (const end of [...splits, bytes.length]) {
    decoder.push(bytes.subarray(start, end), (message) => out.push(message));
    start = end;
  }
  return out;
}

describe('frames', () => {
  const messages: Message[] = [
    { type: 'ready' },
    { type: 'invoke', seq: 1, programHash: 'ab', element: new Uint8Array([1, 2, 3]), cwd: '/é' },
    {
      type: 'invoke',
      seq: 2,
      captures: new Uint8Array(0),
      element: new Uint8Array([9]),
      dropPrograms: ['x'],
    },
    { type: 'stream', seq: 2, name: 'stdout', text: 'héllo\n' },
  ];

  it('round-trips messages with byte arrays through every split of the stream', () => {
    const bytes = concat(messages.flatMap((message) => encodeFrame(message)));
    for (let split = 0; split <= bytes.length; split += 1) {
      const decoded = decodeAll(bytes, [split]);
      expect(decoded.map((m) => ({ ...m, element: m.element && [...(m.element as Uint8Array)] }))).toEqual(
        messages.map((m) => ({ ...m, element: m.element && [...(m.element as Uint8Array)] })),
      );
    }
    // One byte at a time.
    expect(
      decodeAll(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ),
    ).toHaveLength(messages.length);
  });

  it('leaves out undefined fields, and writes large payloads after the head, uncopied', () => {
    const large = new Uint8Array(100_000).fill(7);
    const parts = encodeFrame({ type: 'result', seq: 3, result: large, update: undefined });
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(large);
    const [decoded] = decodeAll(concat(parts), [5, 70_000]);
    expect(Object.keys(decoded).sort()).toEqual(['result', 'seq', 'type']);
    expect((decoded.result as Uint8Array).byteLength).toBe(100_000);
    expect((decoded.result as Uint8Array).every((byte) => byte === 7)).toBe(true);
  });

  it('refuses bytes that are not frames', () => {
    const decoder = new FrameDecoder<Message>();
    const garbage = Buffer.from([6, 0, 0, 0, 2, 0, 0, 0, 0x7b, 0x7b]);
    expect(() => decoder.push(garbage, () => undefined)).toThrow();
  });
});

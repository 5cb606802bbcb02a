import {
  decodeMessage,
  encodeMessage,
  HeaderFactory,
  MessageSigner,
  WireError,
} from '../../kernel-magics/src/kernel/wire';
import { SignatureHistory } from '../../kernel-magics/src/kernel/signature-history';

describe('wire format', () => {
  const signer = new MessageSigner('secret-key');
  const headers = new HeaderFactory();

  it('round-trips a message with identities and buffers', () => {
    const header = headers.create('execute_request');
    const frames = encodeMessage(
      {
        msgType: 'execute_request',
        content: { code: '1 + 1' },
        identities: [Buffer.from('client-1')],
        buffers: [Buffer.from([1, 2, 3])],
      },
      header,
      signer,
    );
    const decoded = decodeMessage(frames, signer);
    expect(decoded.identities.map((b) => b.toString())).toEqual(['client-1']);
    expect(decoded.header).toEqual(header);
    expect(decoded.content).toEqual({ code: '1 + 1' });
    expect(decoded.parent_header).toEqual({});
    expect([...decoded.buffers[0]]).toEqual([1, 2, 3]);
  });

  it('sends text frames as strings, binary buffers as they are', () => {
    const frames = encodeMessage(
      { msgType: 'x', content: {}, identities: [Buffer.from('id')], buffers: [Buffer.from([7])] },
      headers.create('x'),
      signer,
    );
    // zeromq copies strings; a Buffer over 128 bytes is pinned and released via the event loop.
    expect(frames.slice(1, 7).every((frame) => typeof frame === 'string')).toBe(true);
    expect(Buffer.isBuffer(frames[0]) && Buffer.isBuffer(frames[7])).toBe(true);
  });

  it('signs with HMAC-SHA256 over the four JSON frames', () => {
    const frames = encodeMessage({ msgType: 'status', content: {} }, headers.create('status'), signer);
    const signature = frames[1].toString();
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signer.verify(signature, frames.slice(2, 6))).toBe(true);
    expect(new MessageSigner('other-key').verify(signature, frames.slice(2, 6))).toBe(false);
  });

  it('rejects a tampered message', () => {
    const frames = encodeMessage({ msgType: 'x', content: { a: 1 } }, headers.create('x'), signer);
    frames[5] = Buffer.from(JSON.stringify({ a: 2 }));
    expect(() => decodeMessage(frames, signer)).toThrow(new WireError('Invalid message signature'));
  });

  it('rejects frames without a delimiter, too few frames, or broken JSON', () => {
    expect(() => decodeMessage([Buffer.from('nope')], signer)).toThrow(WireError);
    const unsigned = new MessageSigner('');
    const frames = encodeMessage({ msgType: 'x', content: {} }, headers.create('x'), unsigned);
    expect(() => decodeMessage(frames.slice(0, 4), unsigned)).toThrow(/too few frames/);
    frames[5] = Buffer.from('{not json');
    expect(() => decodeMessage(frames, unsigned)).toThrow(/content frame is not valid JSON/);
  });

  it('refuses unknown signature schemes', () => {
    expect(() => new MessageSigner('k', 'rsa-foo')).toThrow(/Unsupported signature scheme/);
  });

  it('refuses a validly signed message sent twice, as jupyter_client does', () => {
    const history = new SignatureHistory();
    const frames = encodeMessage({ msgType: 'x', content: {} }, headers.create('x'), signer);
    const first = decodeMessage(frames, signer, history);
    expect(first.signature).toBe(frames[1]);
    expect(() => decodeMessage(frames, signer, history)).toThrow(
      new WireError(`Duplicate Signature: '${String(frames[1])}'`),
    );
    // Another message (another msg_id) is signed differently and passes.
    const other = encodeMessage({ msgType: 'x', content: {} }, headers.create('x'), signer);
    expect(decodeMessage(other, signer, history).header.msg_type).toBe('x');
  });

  it('remembers only validly signed messages, and nothing without a key', () => {
    const history = new SignatureHistory();
    const frames = encodeMessage({ msgType: 'x', content: {} }, headers.create('x'), signer);
    const forged = [...frames];
    forged[5] = '{"a": 1}';
    expect(() => decodeMessage(forged, signer, history)).toThrow('Invalid message signature');
    expect(history.size).toBe(0);
    const unsigned = new MessageSigner('');
    const plain = encodeMessage({ msgType: 'x', content: {} }, headers.create('x'), unsigned);
    decodeMessage(plain, unsigned, history);
    decodeMessage(plain, unsigned, history);
    expect(history.size).toBe(0);
  });

  it('keeps a bounded history that forgets the oldest signature first', () => {
    const history = new SignatureHistory(3);
    for (const signature of ['a', 'b', 'c', 'd']) {
      expect(history.admit(signature)).toBe(true);
    }
    expect(history.size).toBe(3);
    expect(history.admit('b')).toBe(false);
    expect(history.admit('d')).toBe(false);
    // 'a' was forgotten to make room for 'd'.
    expect(history.admit('a')).toBe(true);
    expect(() => new SignatureHistory(0)).toThrow(RangeError);
  });
});

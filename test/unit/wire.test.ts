import {
  decodeMessage,
  encodeMessage,
  HeaderFactory,
  MessageSigner,
  WireError,
} from '../../kernel-magics/src/kernel/wire';

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
});

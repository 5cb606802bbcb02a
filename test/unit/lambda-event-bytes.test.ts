/**
 * The runner event of an attempt as the Lambda backend sends it
 * (runtime/lambda/event.ts): the bytes are the event's JSON text exactly,
 * whatever its strings hold, with the payloads inline and intact; the
 * base64 kept between attempts is that of the right program and captures.
 */
import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';

import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import type { LambdaSettings } from '../../kernel-magics/src/runtime/lambda/config';
import { EventBuilder } from '../../kernel-magics/src/runtime/lambda/event';
import type { Payload, RunnerEvent } from '../../kernel-magics/src/runtime/lambda/protocol';

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

const settings: LambdaSettings = {
  region: 'eu-west-1',
  functionName: 'runner',
  bucket: 'payload-bucket',
  s3Endpoint: 'http://127.0.0.1:4569',
  arch: 'arm64',
};

const never = new AbortController().signal;

function request(
  captures: Record<string, unknown>,
  overrides: Partial<InvocationRequest> = {},
): InvocationRequest {
  const source = '(async (c, e, require) => ({ hasValue: true, value: [c, e], exports: {} }))';
  const bytes = serialize(captures);
  return {
    id: 'inv-1',
    runId: 'run-1',
    program: { hash: sha256(source), source, filename: 'serverless-cell-1' },
    captures: { hash: sha256(bytes), bytes },
    memoryMb: 512,
    timeoutS: 30,
    retries: 0,
    cwd: __dirname,
    ...overrides,
  };
}

const bytesOf = (payload: Payload | undefined): Buffer => {
  if (payload === undefined || !('b64' in payload)) {
    throw new Error(`expected an inline payload, got ${JSON.stringify(payload)}`);
  }
  return Buffer.from(payload.b64, 'base64');
};

describe('EventBuilder', () => {
  it("sends the event's JSON text byte for byte, with strings that need escaping and characters beyond ASCII", async () => {
    const odd = 'run "ï" \\ \n\u2028 雪 \u{1F600} \u0000';
    const built = await new EventBuilder().build(
      request(
        { text: odd, data: new Uint8Array(300_000).map((_, i) => i % 253) },
        {
          id: `inv ${odd}`,
          runId: odd,
          index: 3,
          element: serialize({ odd }),
          store: 's3://models?region=eu-west-1',
        },
      ),
      2,
      settings,
      never,
    );
    const expected = Buffer.from(JSON.stringify(built.event));
    expect(Buffer.compare(Buffer.from(built.payload), expected)).toBe(0);
    expect(built.bytes).toBe(expected.byteLength);
    const sent = JSON.parse(Buffer.from(built.payload).toString('utf8')) as RunnerEvent;
    expect(sent.runId).toBe(odd);
    expect(sent.attempt).toBe(2);
    expect(bytesOf(sent.element)).toEqual(Buffer.from(serialize({ odd })));
    const captures = bytesOf(sent.captures.bytes);
    expect(sha256(captures)).toBe(sent.captures.hash);
    expect(bytesOf(sent.program.source).toString('utf8')).toContain('hasValue: true');
  });

  it('sends each attempt the captures of its own request, also when the previous attempt sent others', async () => {
    const builder = new EventBuilder();
    const first = request({ n: 1 });
    const second = request({ n: 2 }, { id: 'inv-2', runId: 'run-2' });
    const sentCaptures = async (r: InvocationRequest): Promise<Buffer> => {
      const built = await builder.build(r, 1, settings, never);
      const sent = JSON.parse(Buffer.from(built.payload).toString('utf8')) as RunnerEvent;
      return bytesOf(sent.captures.bytes);
    };
    expect(await sentCaptures(first)).toEqual(Buffer.from(first.captures.bytes));
    expect(await sentCaptures(second)).toEqual(Buffer.from(second.captures.bytes));
    expect(await sentCaptures(first)).toEqual(Buffer.from(first.captures.bytes));
    expect(await sentCaptures({ ...first, id: 'inv-3' })).toEqual(Buffer.from(first.captures.bytes));
  });
});

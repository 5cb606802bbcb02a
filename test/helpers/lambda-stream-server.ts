/**
 * A Lambda API endpoint on 127.0.0.1 for the kernel's streaming path: it
 * serves InvokeWithResponseStream as AWS does (an HTTP response of
 * `application/vnd.amazon.eventstream` messages: a PayloadChunk for each
 * write of the function, then InvokeComplete) by running the runner's
 * streamingHandler in this process, each of its writes sent as a chunk the
 * moment it is made; and the synchronous Invoke by its buffered handler.
 * Told to, it has no streaming route and answers 404 there as
 * serverless-offline does.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

import type * as HandlerModule from '../../kernel-magics/src/runtime/lambda/handler';

/** A running endpoint. */
export interface StreamServer {
  endpoint: string;
  /** Requests by route, in order: `stream` or `invoke`. */
  readonly calls: ('stream' | 'invoke' | 'refused')[];
  /** Whether an invocation's handler is running now. */
  running(): boolean;
  stop(): Promise<void>;
}

const STREAM_PATH = /^\/2021-11-15\/functions\/[^/]+\/response-streaming-invocations(\?|$)/;
const INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations(\?|$)/;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function eventMessage(type: string, contentType: string, body: Uint8Array): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: contentType },
    },
    body,
  });
}

/** Starts the endpoint over `runner` (the compiled handler module, loaded where `awslambda` exists). */
export async function startStreamServer(
  runner: typeof HandlerModule,
  options: { streaming: boolean },
): Promise<StreamServer> {
  const calls: StreamServer['calls'] = [];
  let active = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
      const url = req.url ?? '';
      if (STREAM_PATH.test(url) && options.streaming && runner.streamingHandler) {
        calls.push('stream');
        void serveStream(runner.streamingHandler, event, res);
      } else if (STREAM_PATH.test(url)) {
        calls.push('refused');
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'Not Found' }));
      } else if (INVOKE_PATH.test(url)) {
        calls.push('invoke');
        active += 1;
        void runner
          .handler(event)
          .then((response) => {
            res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '1' });
            res.end(JSON.stringify(response));
          })
          .finally(() => (active -= 1));
      } else {
        res.writeHead(404).end();
      }
    });
  });

  async function serveStream(
    handler: NonNullable<typeof HandlerModule.streamingHandler>,
    event: unknown,
    res: http.ServerResponse,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amz-executed-version': '1',
    });
    const chunks = new Writable({
      write(chunk: Buffer, _encoding, done) {
        res.write(eventMessage('PayloadChunk', 'application/octet-stream', chunk), () => done());
      },
    });
    const complete: Record<string, string> = {};
    active += 1;
    try {
      await handler(event, chunks);
    } catch (error) {
      complete.ErrorCode = (error as Error).name;
      complete.ErrorDetails = (error as Error).message;
    } finally {
      active -= 1;
    }
    res.end(eventMessage('InvokeComplete', 'application/json', fromUtf8(JSON.stringify(complete))));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    running: () => active > 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

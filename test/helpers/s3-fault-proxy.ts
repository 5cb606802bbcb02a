/**
 * An HTTP proxy on 127.0.0.1 in front of an s3rver, for S3 tests of what
 * s3rver cannot do by itself:
 * - faults: it answers the next N requests (or all) with `503 SlowDown`
 *   and the XML error body S3 sends, after reading the request's body;
 * - conditional writes: with `conditionalWrites`, a PUT carrying
 *   `If-None-Match: *` is answered `412 PreconditionFailed` when the object
 *   exists, as S3 does (s3rver ignores the header). Such PUTs are
 *   serialized per object and checked with a HEAD upstream, so they are
 *   atomic against each other, which is S3's guarantee.
 * Everything else is forwarded unchanged (signatures stay valid: the Host
 * header is the one the client signed).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the endpoint to give the store. */
  readonly endpoint: string;
  /** Requests received so far (answered or forwarded). */
  readonly requests: number;
  /** Requests answered 503 so far. */
  readonly slowDowns: number;
  /** Requests answered 412 so far. */
  readonly preconditionFailures: number;
  /**
   * SDK calls seen so far by S3 operation (PUT, GET, HEAD, LIST for
   * ListObjects, DELETE, DELETE-BATCH for DeleteObjects, other): requests
   * with distinct `amz-sdk-invocation-id` headers, so the SDK's retries of a
   * call count once.
   */
  readonly operations: Readonly<Record<string, number>>;
  /** Answers the next `count` requests (`'always'`: every request from now on) with 503 SlowDown. */
  slowDown(count: number | 'always'): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Enforce `If-None-Match: *` on PUT, as S3 does. */
  conditionalWrites?: boolean;
}

/** Starts a proxy to the s3rver on `upstreamPort`. */
export async function startFaultProxy(
  upstreamPort: number,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  let requests = 0;
  let slowDowns = 0;
  let preconditionFailures = 0;
  let failing: number | 'always' = 0;
  const locks = new Map<string, Promise<void>>();
  const operations: Record<string, number> = {};
  const invocations = new Set<string>();

  const server = http.createServer((req, res) => {
    requests += 1;
    const invocation = req.headers['amz-sdk-invocation-id'];
    if (typeof invocation !== 'string' || !invocations.has(invocation)) {
      const operation = operationOf(req);
      operations[operation] = (operations[operation] ?? 0) + 1;
      if (typeof invocation === 'string') {
        invocations.add(invocation);
      }
    }
    if (failing === 'always' || failing > 0) {
      if (failing !== 'always') {
        failing -= 1;
      }
      slowDowns += 1;
      void answerError(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
      return;
    }
    if (options.conditionalWrites && req.method === 'PUT' && req.headers['if-none-match'] === '*') {
      const path = (req.url ?? '/').split('?')[0];
      const previous = locks.get(path) ?? Promise.resolve();
      const turn = previous.then(async () => {
        if (await exists(upstreamPort, path)) {
          preconditionFailures += 1;
          await answerError(
            req,
            res,
            412,
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
          );
        } else {
          await forward(upstreamPort, req, res);
        }
      });
      const tail = turn.catch(() => {
        res.destroy();
      });
      locks.set(path, tail);
      void tail.then(() => {
        if (locks.get(path) === tail) {
          locks.delete(path);
        }
      });
      return;
    }
    void forward(upstreamPort, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get slowDowns() {
      return slowDowns;
    },
    get preconditionFailures() {
      return preconditionFailures;
    },
    get operations() {
      return { ...operations };
    },
    slowDown: (count) => {
      failing = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The S3 operation of a path-style request. */
function operationOf(req: http.IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const onBucket = url.pathname.split('/').filter(Boolean).length === 1;
  if (req.method === 'GET' && onBucket) {
    return 'LIST';
  }
  if (req.method === 'POST' && url.searchParams.has('delete')) {
    return 'DELETE-BATCH';
  }
  return ['PUT', 'GET', 'HEAD', 'DELETE'].includes(req.method ?? '') ? req.method! : 'other';
}

/** Answers with S3's XML error body, once the request's body is read (as S3 does). */
function answerError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const requestId = Math.random().toString(16).slice(2, 18).toUpperCase();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${code}</Code><Message>${message}</Message>` +
      `<RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`;
    const send = (): void => {
      res.writeHead(status, {
        'Content-Type': 'application/xml',
        'Content-Length': Buffer.byteLength(body),
        'x-amz-request-id': requestId,
      });
      res.end(req.method === 'HEAD' ? undefined : body, () => resolve());
    };
    if (req.readableEnded) {
      send();
    } else {
      req.on('end', send);
      req.on('error', () => resolve());
      req.resume();
    }
  });
}

/** Forwards a request upstream and its response back; resolves when the response is sent. */
function forward(upstreamPort: number, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: false,
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
        response.on('end', () => resolve());
        response.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    upstream.on('error', () => {
      res.destroy();
      resolve();
    });
    req.pipe(upstream);
  });
}

/** Whether the object at `path` exists upstream (an anonymous HEAD: s3rver allows it). */
function exists(upstreamPort: number, path: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const head = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: 'HEAD', path, agent: false },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    head.on('error', reject);
    head.end();
  });
}

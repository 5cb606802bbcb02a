/**
 * An HTTP proxy on 127.0.0.1 in front of a Lambda API endpoint
 * (serverless-offline, or a test's own server) that throttles Invoke
 * requests as AWS does: a chosen share of them, or chosen ones by number,
 * are answered `429 TooManyRequestsException` (after their body is read);
 * every other request is forwarded unchanged, streamed both ways.
 *
 * The 429 is the Invoke API's: header `x-amzn-ErrorType:
 * TooManyRequestsException`, `Retry-After` (the member `retryAfterSeconds`
 * is bound to that header in the Lambda API model, which the SDK reads), and
 * the JSON body `{"Reason": ..., "Type": "User", "message": ...}` Lambda
 * sends (as a real 429 body quoted in github.com/fyoorer/ShadowClone issue 46 shows).
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which Invoke requests the proxy throttles. */
export interface ThrottlePlan {
  /**
   * The share of Invoke requests throttled, 0 to 1, spread evenly and
   * deterministically (with 0.5, every second one).
   */
  share?: number;
  /** Invoke requests to throttle, by number (1-based, counted from the proxy's start). */
  requests?: Iterable<number>;
  /** The `Reason` of the 429s. */
  reason?: string;
  /** The `Retry-After` of the 429s, s; none when absent. */
  retryAfterSeconds?: number;
}

/** A running proxy. */
export interface ThrottleProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the endpoint to give the LambdaClient. */
  readonly endpoint: string;
  /** Requests received so far, of any kind. */
  readonly requests: number;
  /** Invoke requests received so far. */
  readonly invokes: number;
  /** Invoke requests answered 429 so far. */
  readonly throttled: number;
  /** Requests forwarded upstream so far (whatever came back). */
  readonly forwarded: number;
  /** Replaces the plan for the requests to come (numbers still count from the start). */
  throttle(plan: ThrottlePlan): void;
  /** Stops listening and closes every connection, upstream ones included. */
  close(): Promise<void>;
}

/** The Invoke API's path: `POST /2015-03-31/functions/{FunctionName}/invocations`. */
const INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations(?:\?|$)/;

/** The throttle Lambda answers when a function has no more concurrency. */
export const DEFAULT_THROTTLE_REASON = 'ConcurrentInvocationLimitExceeded';

/** Sees the bytes the proxy forwards, each way (to check what travels). */
export type ByteWatcher = (direction: 'request' | 'response', chunk: Buffer) => void;

/** Starts a proxy to `upstream` (`http://host:port`). */
export async function startThrottleProxy(
  upstream: string,
  plan: ThrottlePlan = {},
  watch?: ByteWatcher,
): Promise<ThrottleProxy> {
  const target = new URL(upstream);
  let current = planOf(plan);
  let requests = 0;
  let invokes = 0;
  let throttled = 0;
  let forwarded = 0;
  const inFlight = new Set<http.ClientRequest>();

  const server = http.createServer((req, res) => {
    requests += 1;
    if (req.method === 'POST' && INVOKE_PATH.test(req.url ?? '')) {
      invokes += 1;
      if (current.throttles(invokes)) {
        throttled += 1;
        answerThrottle(req, res, current);
        return;
      }
    }
    forwarded += 1;
    forward(target, req, res, inFlight, watch);
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
    get invokes() {
      return invokes;
    },
    get throttled() {
      return throttled;
    },
    get forwarded() {
      return forwarded;
    },
    throttle: (next) => {
      current = planOf(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const request of inFlight) {
          request.destroy();
        }
      }),
  };
}

interface Plan {
  throttles(invoke: number): boolean;
  reason: string;
  retryAfterSeconds?: number;
}

function planOf(plan: ThrottlePlan): Plan {
  const share = Math.min(1, Math.max(0, plan.share ?? 0));
  const chosen = new Set(plan.requests ?? []);
  return {
    // The n-th request is throttled when floor(n x share) steps up at n: exactly
    // round-down(n x share) of the first n are, evenly spread.
    throttles: (n) => chosen.has(n) || Math.floor(n * share) > Math.floor((n - 1) * share),
    reason: plan.reason ?? DEFAULT_THROTTLE_REASON,
    retryAfterSeconds: plan.retryAfterSeconds,
  };
}

/** Answers 429 as the Invoke API does, once the request's body is read. */
function answerThrottle(req: http.IncomingMessage, res: http.ServerResponse, plan: Plan): void {
  const body = JSON.stringify({ Reason: plan.reason, Type: 'User', message: 'Rate Exceeded.' });
  const send = (): void => {
    res.writeHead(429, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': randomUUID(),
      'x-amzn-ErrorType': 'TooManyRequestsException',
      ...(plan.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(plan.retryAfterSeconds) }),
    });
    res.end(body);
  };
  req.on('end', send);
  req.on('error', () => res.destroy());
  req.resume();
}

/** Forwards a request upstream and its response back, both streamed. */
function forward(
  target: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  inFlight: Set<http.ClientRequest>,
  watch: ByteWatcher | undefined,
): void {
  if (watch) {
    req.on('data', (chunk: Buffer) => watch('request', chunk));
  }
  const upstream = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent: false,
    },
    (response) => {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, response.headers);
      if (watch) {
        response.on('data', (chunk: Buffer) => watch('response', chunk));
      }
      response.pipe(res);
      response.on('error', () => res.destroy());
    },
  );
  inFlight.add(upstream);
  upstream.on('close', () => inFlight.delete(upstream));
  upstream.on('error', () => res.destroy());
  req.on('error', () => upstream.destroy());
  res.on('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
    }
  });
  req.pipe(upstream);
}

/**
 * The retry policy of the Invoke call (runtime/lambda/throttle.ts) on the
 * SDK's own errors, and the throttling proxy (test/helpers) in front of a
 * small server that answers like Lambda's Invoke, through a real LambdaClient.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  EC2ThrottledException,
  InvalidParameterValueException,
  InvokeCommand,
  InvokeCommandOutput,
  KMSDisabledException,
  LambdaClient,
  LambdaServiceException,
  RequestTooLargeException,
  ResourceConflictException,
  ResourceNotFoundException,
  ResourceNotReadyException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';

import { failureOutcome } from '../../kernel-magics/src/runtime/lambda/outcome';
import { parseLogTail } from '../../kernel-magics/src/runtime/lambda/report';
import {
  describeThrottle,
  INVOKE_BACKOFF,
  INVOKE_MAX_ATTEMPTS,
  INVOKE_MAX_DELAY_MS,
  invokeRetryDelay,
} from '../../kernel-magics/src/runtime/lambda/throttle';
import { backoffDelay } from '../../kernel-magics/src/runtime/scheduling';
import { startThrottleProxy, ThrottleProxy } from '../helpers/lambda-throttle-proxy';

const $metadata = (httpStatusCode: number): { httpStatusCode: number; requestId: string } => ({
  httpStatusCode,
  requestId: 'c3a1f0e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
});

/** A throttle as the SDK builds it from a 429 (its constructor, the fields its deserializer sets). */
function throttle(retryAfterSeconds?: string): TooManyRequestsException {
  return new TooManyRequestsException({
    message: 'Rate Exceeded.',
    $metadata: $metadata(429),
    Reason: 'ConcurrentInvocationLimitExceeded',
    Type: 'User',
    retryAfterSeconds,
  });
}

const low = (): number => 0;

describe('invokeRetryDelay', () => {
  it('retries a throttle, waiting at least its retryAfterSeconds, plus the backoff', () => {
    expect(invokeRetryDelay(throttle('1'), 1, low)).toBe(1000 + backoffDelay(1, INVOKE_BACKOFF, low));
    expect(invokeRetryDelay(throttle('1'), 1)).toBeGreaterThanOrEqual(1000);
    expect(describeThrottle(throttle('1'))).toEqual({
      reason: 'ConcurrentInvocationLimitExceeded',
      retryAfterMs: 1000,
    });
  });

  it('backs off exponentially with equal jitter when the service names no wait, as crash retries do', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => invokeRetryDelay(throttle(), attempt, low));
    expect(delays).toEqual([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, INVOKE_BACKOFF, low)));
    expect(delays).toEqual([50, 100, 200, 400, 800]);
    expect(describeThrottle(throttle())).toEqual({ reason: 'ConcurrentInvocationLimitExceeded' });
  });

  it('is bounded: INVOKE_MAX_ATTEMPTS attempts, each wait at most INVOKE_MAX_DELAY_MS', () => {
    expect(invokeRetryDelay(throttle(), INVOKE_MAX_ATTEMPTS - 1)).toBeDefined();
    expect(invokeRetryDelay(throttle(), INVOKE_MAX_ATTEMPTS)).toBeUndefined();
    expect(invokeRetryDelay(throttle(), Number.NaN)).toBeUndefined();
    expect(invokeRetryDelay(throttle('3600'), 1, () => 0.999)).toBe(INVOKE_MAX_DELAY_MS);
    for (let attempt = 1; attempt < INVOKE_MAX_ATTEMPTS; attempt += 1) {
      expect(invokeRetryDelay(throttle(), attempt, () => 0.999)).toBeLessThanOrEqual(INVOKE_MAX_DELAY_MS);
    }
  });

  it('ignores a retryAfterSeconds that is not a number of seconds', () => {
    expect(invokeRetryDelay(throttle('soon'), 1, low)).toBe(backoffDelay(1, INVOKE_BACKOFF, low));
    expect(describeThrottle(throttle('-1'))).toEqual({ reason: 'ConcurrentInvocationLimitExceeded' });
  });

  it('retries the service’s transient faults (5xx)', () => {
    const faults = [
      new ServiceException({ message: 'Internal error', $metadata: $metadata(500), Type: 'Service' }),
      new EC2ThrottledException({ message: 'EC2 throttled', $metadata: $metadata(502) }),
      new ResourceNotReadyException({ message: 'Function not ready', $metadata: $metadata(502) }),
      // A fault the model does not name, as the SDK builds it from a 503 with an error type.
      new LambdaServiceException({ name: 'ServiceUnavailable', $fault: 'server', $metadata: $metadata(503) }),
    ];
    for (const fault of faults) {
      expect(invokeRetryDelay(fault, 1)).toBeDefined();
    }
    expect(describeThrottle(faults[1])).toEqual({ reason: 'EC2ThrottledException' });
    expect(describeThrottle(faults[0])).toBeUndefined();
  });

  it('does not retry the caller’s mistakes, faults of the function’s configuration, or an abort', () => {
    const permanent = [
      new ResourceNotFoundException({ message: 'Function not found', $metadata: $metadata(404) }),
      new InvalidParameterValueException({ message: 'bad', $metadata: $metadata(400) }),
      new RequestTooLargeException({
        message: 'Request must be smaller than 6291456 bytes',
        $metadata: $metadata(413),
      }),
      new ResourceConflictException({ message: 'update in progress', $metadata: $metadata(409) }),
      // Not in the model: the SDK builds it as a client fault from the 403's error type.
      new LambdaServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: $metadata(403),
      }),
      new KMSDisabledException({ message: 'KMS key disabled', $metadata: $metadata(502) }),
      Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }),
      new Error('something else'),
      'not an error',
      undefined,
    ];
    for (const error of permanent) {
      expect(invokeRetryDelay(error, 1)).toBeUndefined();
      expect(describeThrottle(error)).toBeUndefined();
    }
  });
});

describe('invokeRetryDelay on Node’s own connection errors', () => {
  /** The error of an HTTP request to `port` that `server` (if any) answers by dropping the connection. */
  function requestError(port: number): Promise<NodeJS.ErrnoException> {
    return new Promise((resolve) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
      request.on('error', resolve);
      request.end('{}');
    });
  }

  it('retries a refused connection (nothing was sent)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await requestError(port);
    expect([refused.code, refused.syscall]).toEqual(['ECONNREFUSED', 'connect']);
    expect(invokeRetryDelay(refused, 1)).toBeDefined();
  });

  it('does not retry a connection reset after the request was sent (the function may be running)', async () => {
    const dropping = http.createServer((req) => {
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', () => resolve()));
    try {
      const reset = await requestError((dropping.address() as AddressInfo).port);
      expect(reset.code).toBe('ECONNRESET');
      expect(invokeRetryDelay(reset, 1)).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => dropping.close(() => resolve()));
    }
  });
});

/** What the test's Lambda answers to an Invoke. */
type Answer = 'ok' | 'timeout' | 'reset' | 'bad-gateway';

/**
 * A server that answers Invoke (`POST /2015-03-31/functions/{name}/invocations`)
 * as Lambda does: 200 with the function's result (here the request's
 * SHA-256 and size), `X-Amz-Executed-Version`, and with `X-Amz-Log-Type:
 * Tail`, `X-Amz-Log-Result`; or a timeout's function error; or a dropped
 * connection once the request is read; or a proxy's HTML 502.
 */
async function startFakeLambda(answer: () => Answer): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    req.on('end', () => {
      const requestId = 'f5f8a0a1-0a3b-4c7d-9e2f-3a4b5c6d7e8f';
      const how = answer();
      if (how === 'reset') {
        req.socket.destroy();
        return;
      }
      if (how === 'bad-gateway') {
        res.writeHead(502, { 'Content-Type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      }
      const timedOut = how === 'timeout';
      const report = timedOut
        ? `REPORT RequestId: ${requestId}\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: timeout`
        : `REPORT RequestId: ${requestId}\tDuration: 2.05 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB`;
      const log = [
        `START RequestId: ${requestId} Version: $LATEST`,
        `END RequestId: ${requestId}`,
        report,
        '',
      ];
      const body = timedOut
        ? {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after 1.00 seconds`,
          }
        : { sha256: hash.digest('hex'), size };
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'x-amzn-RequestId': requestId,
        'X-Amz-Executed-Version': '$LATEST',
        ...(timedOut ? { 'X-Amz-Function-Error': 'Unhandled' } : {}),
        ...(req.headers['x-amz-log-type'] === 'Tail'
          ? { 'X-Amz-Log-Result': Buffer.from(log.join('\n')).toString('base64') }
          : {}),
      });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The backend's client: one attempt per send, so that no SDK retry hides a 429. */
function clientFor(endpoint: string): LambdaClient {
  return new LambdaClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
}

function invoke(client: LambdaClient, payload: Uint8Array): Promise<InvokeCommandOutput> {
  return client.send(new InvokeCommand({ FunctionName: 'runner', Payload: payload, LogType: 'Tail' }));
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('the throttling proxy, with a real LambdaClient', () => {
  let answer: Answer = 'ok';
  let lambda: { endpoint: string; close(): Promise<void> };
  let proxy: ThrottleProxy;
  let client: LambdaClient;

  beforeEach(async () => {
    answer = 'ok';
    lambda = await startFakeLambda(() => answer);
    proxy = await startThrottleProxy(lambda.endpoint, { requests: [1], retryAfterSeconds: 1 });
    client = clientFor(proxy.endpoint);
  });

  afterEach(async () => {
    client.destroy();
    await proxy.close();
    await lambda.close();
  });

  it('answers the chosen Invoke 429 as AWS does: the SDK surfaces TooManyRequestsException with its fields', async () => {
    const error = await rejectionOf(invoke(client, Buffer.from('{}')));
    expect(error).toBeInstanceOf(TooManyRequestsException);
    const throttled = error as TooManyRequestsException;
    expect(throttled.$metadata.httpStatusCode).toBe(429);
    expect(throttled.Reason).toBe('ConcurrentInvocationLimitExceeded');
    expect(throttled.Type).toBe('User');
    expect(throttled.retryAfterSeconds).toBe('1');
    expect(describeThrottle(error)).toEqual({
      reason: 'ConcurrentInvocationLimitExceeded',
      retryAfterMs: 1000,
    });
    expect(invokeRetryDelay(error, 1, low)).toBe(1000 + backoffDelay(1, INVOKE_BACKOFF, low));

    const answered = await invoke(client, Buffer.from('{}'));
    expect(answered.StatusCode).toBe(200);
    expect(parseLogTail(answered.LogResult).report).toMatchObject({ billedDurationMs: 3, memorySizeMb: 128 });
    expect([proxy.invokes, proxy.throttled, proxy.forwarded]).toEqual([2, 1, 1]);
  });

  it('forwards the rest unchanged, streamed both ways (a 5 MB payload arrives whole)', async () => {
    const payload = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) {
      payload.writeUInt32LE(i, i);
    }
    proxy.throttle({});
    const answered = await invoke(client, payload);
    const result = JSON.parse(Buffer.from(answered.Payload ?? new Uint8Array()).toString('utf8')) as {
      sha256: string;
      size: number;
    };
    expect(result).toEqual({
      sha256: createHash('sha256').update(payload).digest('hex'),
      size: payload.length,
    });
  });

  it('passes function errors through: a timeout reads as one from the payload and the REPORT', async () => {
    proxy.throttle({});
    answer = 'timeout';
    const answered = await invoke(client, Buffer.from('{}'));
    expect(answered.FunctionError).toBe('Unhandled');
    const tailRead = parseLogTail(answered.LogResult);
    const outcome = failureOutcome({
      functionError: answered.FunctionError ?? '',
      payload: JSON.parse(Buffer.from(answered.Payload ?? new Uint8Array()).toString('utf8')) as unknown,
      report: tailRead.report,
      timeoutS: 1,
      memoryMb: 128,
      logLines: tailRead.lines,
    });
    expect(outcome).toEqual({ status: 'timeout', message: 'Task timed out after 1.00 seconds.' });
  });

  it('lets every invocation of a burst finish when half are throttled, each within the bound', async () => {
    proxy.throttle({ share: 0.5, retryAfterSeconds: 0 });
    const attemptsOf = await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let attempt = 1; ; attempt += 1) {
          try {
            await invoke(client, Buffer.from('{}'));
            return attempt;
          } catch (error) {
            const delay = invokeRetryDelay(error, attempt);
            if (delay === undefined) {
              throw error;
            }
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
        }
      }),
    );
    expect(attemptsOf.every((attempts) => attempts <= INVOKE_MAX_ATTEMPTS)).toBe(true);
    expect(proxy.forwarded).toBe(6);
    expect(proxy.throttled).toBe(proxy.invokes - 6);
    expect(proxy.throttled).toBe(Math.floor(proxy.invokes * 0.5));
  });

  it('retries a proxy’s 502 and a refused connection, not a connection dropped after the request was sent', async () => {
    proxy.throttle({});
    answer = 'bad-gateway';
    const badGateway = await rejectionOf(invoke(client, Buffer.from('{}')));
    expect(invokeRetryDelay(badGateway, 1)).toBeDefined();

    answer = 'reset';
    const reset = await rejectionOf(invoke(client, Buffer.from('{}')));
    expect(invokeRetryDelay(reset, 1)).toBeUndefined();

    await proxy.close();
    const refused = await rejectionOf(invoke(client, Buffer.from('{}')));
    // Node's own error (ECONNREFUSED, syscall connect), or under jest the SDK's wrapper of it (another realm's Error).
    expect(String(refused)).toContain('connect ECONNREFUSED');
    expect(invokeRetryDelay(refused, 1)).toBeDefined();
  });
});

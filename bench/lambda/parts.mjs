// bench/lambda: the client's own parts, in this process, without the network: what
// LambdaBackend.invoke does around the SDK's send, timed call by call, one call of each part per
// round (so that the machine's other work lands on all of them alike):
//  - event build on a cache hit (EventBuilder.build: the bundle cache, payload placement, base64,
//    and, since the build returns the bytes it sends, their serialization);
//  - for comparison, Buffer.from(JSON.stringify(event)) of the same event (the backend did it
//    twice an attempt before it got the bytes from the build), timed on its own after the others;
//  - readAnswer of a real runner response with a real-format 4 KB log tail (parseLogTail included),
//    and parseLogTail alone;
//  - the whole invoke with the SDK's send replaced by one that answers at once with that output,
//    against the reference's client-side work on the same output (JSON.parse).
import { pkg, rerun } from './cases.mjs';

const never = new AbortController().signal;

/**
 * The last 4 KB of a Lambda log in its text format, as `LogType: 'Tail'` returns it (base64):
 * the function's own lines, then START/END and a cold start's REPORT line (Init Duration). A tail
 * of exactly 4,096 bytes starts inside a line, which the parser drops.
 */
export function logTail4k() {
  const id = '8f5a3c1e-2b7d-4e6f-9a0b-1c2d3e4f5a6b';
  const at = (ms) => new Date(Date.UTC(2026, 11, 6, 19, 0, 0, ms)).toISOString();
  const lines = [`START RequestId: ${id} Version: $LATEST`];
  for (let i = 0; i < 80; i++)
    lines.push(`${at(i * 7)}\t${id}\tINFO\tcaptured ${1024 + i} bytes, step ${i} of the cell's loop`);
  lines.push(
    `END RequestId: ${id}`,
    `REPORT RequestId: ${id}\tDuration: 395.99 ms\tBilled Duration: 662 ms\tMemory Size: 512 MB\t` +
      'Max Memory Used: 301 MB\tInit Duration: 265.72 ms\t',
  );
  const text = Buffer.from(`${lines.join('\n')}\n`);
  const tail = text.subarray(text.length - pkg.LAMBDA_LIMITS.logTailBytes);
  const parsed = pkg.parseLogTail(tail.toString('base64'));
  if (parsed.report?.billedDurationMs !== 662)
    throw new Error('the 4 KB tail has no REPORT the parser reads');
  return tail.toString('base64');
}

/**
 * Times each of `fns` (async, by name) `n` times after `warm` rounds, one call of each per round
 * in an order that rotates, so that what else the machine does lands on all of them alike:
 * ms per call, by name.
 */
async function timeRoundRobin(fns, n, warm) {
  const names = Object.keys(fns);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < warm + n; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const t = performance.now();
      await fns[name]();
      const ms = performance.now() - t;
      if (round >= warm) samples[name].push(ms);
    }
  }
  return samples;
}

/** An SDK client whose send answers `output` at once (for the client-only invoke). */
const answering = (output) => ({
  send: async () => output,
  destroy() {},
});

/**
 * Measures the parts for each case: `cases` with `request`, `expected` and `response` (the raw
 * Payload bytes the runner answered in the side-by-side run); `settings` of the backend.
 */
export async function measureParts(cases, settings, n) {
  const warm = Math.max(20, Math.floor(n / 10));
  const tail = logTail4k();
  const parts = {};
  const builder = new pkg.EventBuilder();
  for (const c of cases) {
    const output = { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: c.response, LogResult: tail };
    const built = await builder.build(rerun(c.request), 1, settings, never); // the bundle, cached
    const backend = new pkg.LambdaBackend({ settings: () => settings, client: () => answering(output) });
    const reference = answering(output);
    const ours = async () => {
      const result = await backend.invoke(rerun(c.request), { onStream() {} }, never);
      if (result.outcome.status !== 'ok')
        throw new Error(`client-only invoke: ${JSON.stringify(result.outcome)}`);
    };
    const theirs = async () => {
      const out = await reference.send();
      const p = out.Payload;
      JSON.parse(Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8'));
    };
    parts[c.name] = await timeRoundRobin(
      {
        eventBuild: () => builder.build(rerun(c.request), 1, settings, never),
        readAnswer: () => pkg.readAnswer(output, built.event, never),
        parseLogTail: async () => pkg.parseLogTail(tail),
        // Our invoke with an instant send, and the reference's client-side work on the same output.
        invokeNoNetwork: ours,
        referenceNoNetwork: theirs,
      },
      n,
      warm,
    );
    // Timed on its own, after: its megabytes of garbage would land on the parts timed after it.
    parts[c.name].jsonStringify = (
      await timeRoundRobin({ jsonStringify: async () => Buffer.from(JSON.stringify(built.event)) }, n, warm)
    ).jsonStringify;
    await backend.dispose();
  }
  return parts;
}

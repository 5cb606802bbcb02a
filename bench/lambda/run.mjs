// bench/lambda: the Lambda backend's client vs a bare InvokeCommand, side by side in one run.
// Usage: npm run build && node bench/lambda/run.mjs [rounds=300] [warmup=30] [parts=2000]
//
// The runner under serverless-offline and s3rver, started with the product's own startOffline
// (kernel-magics/src/cli/offline.ts, `npm run offline`) on free loopback ports. For each cell
// (bench/lambda/cases.mjs: 1 KB and 1 MB of captures, and 1 KB with a local module bundled in),
// one cell after the other, every round runs both, in an order that alternates from round to round:
//  (a) the reference: one @aws-sdk/client-lambda LambdaClient (made once, maxAttempts 1, the
//      product's connection timeout), InvokeCommand with LogType 'Tail' sending the exact JSON
//      event bytes the backend would send for that invocation (built once with the package's
//      EventBuilder, the same bytes every round), the answer only JSON.parse'd;
//  (b) ours: LambdaBackend.invoke(request, observer, signal) end to end for the same cell run
//      again (new invocation and run ids, as the kernel gives a cell run again): the bundle cache
//      hit, the event built and serialized, the answer read, the output replayed to an observer
//      that counts it.
// The server side (the same runner in the same serverless-offline) is the same for both, so
// b - a per round is the client's added time; the CPU time of this process during each call
// (process.cpuUsage) is kept too, less sensitive to the machine's other work. `warmup` rounds are dropped. Then the client's
// parts alone, without the network (bench/lambda/parts.mjs), `parts` calls each.
// Raw samples in bench/lambda/results/latest.json; markdown tables on stdout. The servers are
// stopped with the product's stop() (by PID; killed by PID at exit if the bench dies first), the
// backend and the clients disposed: the process exits on its own.
import { createServer } from 'node:net';
import { deserialize } from 'node:v8';

import { MEMORY_MB, pkg, planCases, rerun, scratchDir, sdk } from './cases.mjs';
import { measureParts } from './parts.mjs';
import { report } from './report.mjs';

const ROUNDS = Number(process.argv[2] ?? 300);
const WARMUP = Number(process.argv[3] ?? 30);
const PARTS = Number(process.argv[4] ?? 2000);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// s3rver's account, for every AWS SDK client of this process (the SDK's default chain reads it).
Object.assign(process.env, pkg.S3RVER_CREDENTIALS, { AWS_REGION: 'us-east-1' });

const began = performance.now();
const loadBefore = (await import('node:os')).loadavg();
const dir = scratchDir();
const cases = planCases(dir);
const servers = await pkg.startOffline({ lambdaPort: await freePort(), s3Port: await freePort() });
// A bench that dies half-way still ends its servers (by PID).
const killServers = () => {
  for (const pid of Object.values(servers.pids))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
};
process.on('exit', killServers);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

const settings = {
  region: servers.region,
  functionName: servers.functionName,
  bucket: servers.bucket,
  endpoint: servers.lambdaEndpoint,
  s3Endpoint: servers.s3Endpoint,
  arch: 'x86_64',
};
const never = new AbortController().signal;
const backend = new pkg.LambdaBackend({ settings: () => settings, concurrency: 1 });
const client = new sdk.LambdaClient({
  region: settings.region,
  endpoint: settings.endpoint,
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 5_000 },
});

/** CPU time of this process (all its threads) since `start` (a process.cpuUsage()), ms. */
const cpuSince = (start) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};

/** The value a runner's ok response carries. */
const valueOf = (response) => deserialize(Buffer.from(response.outcome.result.b64, 'base64')).value;

const samples = {};
let parts;
try {
  // The reference's input per cell: the event the backend would build for it, as bytes, once.
  for (const c of cases) {
    const built = await new pkg.EventBuilder().build(c.request, 1, settings, never);
    c.eventBytes = Buffer.from(JSON.stringify(built.event));
    c.input = {
      FunctionName: settings.functionName,
      Qualifier: pkg.memoryAlias(MEMORY_MB),
      InvocationType: 'RequestResponse',
      LogType: 'Tail',
      Payload: c.eventBytes,
    };
    samples[c.name] = {
      a: [],
      b: [],
      diff: [],
      bFirst: [],
      cpuMs: { a: [], b: [] },
      runnerMs: { a: [], b: [] },
    };
  }
  const reference = async (c) => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    const output = await client.send(new sdk.InvokeCommand(c.input));
    const p = output.Payload;
    const response = JSON.parse(Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8'));
    const ms = performance.now() - t;
    const cpuMs = cpuSince(cpu);
    if (output.FunctionError || response.outcome?.status !== 'ok' || valueOf(response) !== c.expected)
      throw new Error(
        `${c.name}: the bare InvokeCommand got ${Buffer.from(p).toString('utf8').slice(0, 500)}`,
      );
    c.response = p;
    return { ms, cpuMs, runnerMs: response.figures.durationMs };
  };
  const ours = async (c) => {
    const seen = { streams: 0, bytes: 0 };
    const observer = {
      onStream(_name, text) {
        seen.streams += 1;
        seen.bytes += text.length;
      },
    };
    const cpu = process.cpuUsage();
    const t = performance.now();
    const result = await backend.invoke(rerun(c.request), observer, never);
    const ms = performance.now() - t;
    const cpuMs = cpuSince(cpu);
    if (result.outcome.status !== 'ok' || deserialize(result.outcome.result).value !== c.expected)
      throw new Error(`${c.name}: LambdaBackend.invoke gave ${JSON.stringify(result.outcome).slice(0, 500)}`);
    if (seen.streams !== 1) throw new Error(`${c.name}: the observer saw ${seen.streams} outputs, not 1`);
    return { ms, cpuMs, runnerMs: result.attempts[0].durationMs };
  };
  // One cell after the other (what one cell's invocations leave behind, a 1 MB one's garbage,
  // lands on the same cell's next round); within a cell, the order alternates every round.
  for (const c of cases) {
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const bFirst = round % 2 === 1;
      const [first, second] = bFirst ? [ours, reference] : [reference, ours];
      const x = await first(c);
      const y = await second(c);
      if (round < WARMUP) continue;
      const [a, b] = bFirst ? [y, x] : [x, y];
      const s = samples[c.name];
      s.a.push(a.ms);
      s.b.push(b.ms);
      s.diff.push(b.ms - a.ms);
      s.bFirst.push(bFirst);
      s.cpuMs.a.push(a.cpuMs);
      s.cpuMs.b.push(b.cpuMs);
      s.runnerMs.a.push(a.runnerMs);
      s.runnerMs.b.push(b.runnerMs);
    }
  }
  parts = await measureParts(cases, settings, PARTS);
} finally {
  await backend.dispose();
  client.destroy();
  await pkg.closeSharedStores();
  await servers.stop();
  process.off('exit', killServers);
}

report({
  cases: cases.map((c) => ({ name: c.name, captureBytes: c.captureBytes, eventBytes: c.eventBytes.length })),
  samples,
  parts,
  args: { rounds: ROUNDS, warmup: WARMUP, parts: PARTS, memoryMb: MEMORY_MB },
  loadBefore,
  began,
});

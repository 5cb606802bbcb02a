/**
 * s3rver in a process of its own, for `serverless-kernel offline` (and the
 * tests' and benchmarks' S3): listens on 127.0.0.1:<port> (0: any free
 * one), creates the bucket, prints one line `{"port":N}`, stops on SIGTERM.
 * Usage: node --openssl-legacy-provider offline-s3.js <data directory> <bucket> [port]
 */
// s3rver ships no types; only its constructor, run and close are used.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS dev tool without types
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

async function main(): Promise<void> {
  const [directory, bucket, port = '0'] = process.argv.slice(2);
  if (!directory || !bucket) {
    process.stderr.write('usage: offline-s3 <data directory> <bucket> [port]\n');
    process.exit(2);
  }
  const server = new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`s3rver did not start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

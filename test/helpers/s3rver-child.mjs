// Runs s3rver in a process of its own, so a test can stop or kill it by PID.
// Usage: node --openssl-legacy-provider s3rver-child.mjs <data directory> <bucket> [port]
// Listens on 127.0.0.1 (port 0: any free one), creates the bucket, then
// prints one line `{"port":N}` on stdout; on SIGTERM closes and exits.
import S3rver from 's3rver';

const [directory, bucket, port = '0'] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: node s3rver-child.mjs <data directory> <bucket> [port]\n');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [] }],
});
try {
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
} catch (error) {
  process.stderr.write(`s3rver did not start: ${error?.stack ?? error}\n`);
  process.exit(1);
}
process.once('SIGTERM', () => {
  server.close().finally(() => process.exit(0));
});

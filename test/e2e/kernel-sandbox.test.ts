/**
 * What a `%%serverless` body can reach of the kernel that runs it, on a real
 * kernel process with secrets in its environment: in the sandbox, not the
 * kernel's environment, command line, memory, connection file or home, nor
 * an authenticated reply on its ports; without it (`SERVERLESS_SANDBOX=off`),
 * the limits the README documents (the body sees what the kernel's user sees).
 */
import * as os from 'node:os';

import { RawKernel } from '../helpers/raw-kernel';

const SECRET = 'jsl-sandbox-test-secret';

/** The kernel-side cell: what the body will try to reach, as kernel variables it captures. */
const SETUP = `
import * as fs from 'node:fs';
const kernelPid = process.pid;
const connectionFile = process.argv.find((arg) => arg.endsWith('.json')) as string;
const shellPort = JSON.parse(fs.readFileSync(connectionFile, 'utf8')).shell_port as number;
const zmqPath = ${JSON.stringify(require.resolve('zeromq'))};
const home = ${JSON.stringify(os.homedir())};
`;

/** The body: every way in the issue to the kernel's secrets, each answered with what it got or why not. */
const PROBE = `%%serverless --timeout 30
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
const attempt = (f: () => unknown): string => {
  try {
    return String(f());
  } catch (error) {
    return 'denied: ' + ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
};
const probe: Record<string, string> = {
  environ: attempt(() => fs.readFileSync('/proc/' + kernelPid + '/environ', 'latin1')),
  parentEnviron: attempt(() => fs.readFileSync('/proc/' + process.ppid + '/environ', 'latin1')),
  cmdline: attempt(() => fs.readFileSync('/proc/' + kernelPid + '/cmdline', 'latin1')),
  connection: attempt(() => fs.readFileSync(connectionFile, 'utf8')),
  mem: attempt(() => { fs.closeSync(fs.openSync('/proc/' + kernelPid + '/mem', 'r')); return 'opened'; }),
  // Of the home directory, at most the path down to the embedded store's directory (bound in).
  home: attempt(() => fs.readdirSync(home).filter((entry) => !(process.env.SERVERLESS_STORE + '/').startsWith(home + '/' + entry + '/')).length),
  processes: fs.readdirSync('/proc').filter((name) => /^\\d+$/.test(name)).length.toString(),
};
// The ports: signed with the key if the connection file could be read, else with a guess.
let key = '';
try { key = JSON.parse(fs.readFileSync(connectionFile, 'utf8')).key; } catch { key = 'guess'; }
const zmq = require(zmqPath);
const socket = new zmq.Dealer({ receiveTimeout: 2000 });
socket.connect('tcp://127.0.0.1:' + shellPort);
const parts = [
  JSON.stringify({ msg_id: 'probe', msg_type: 'kernel_info_request', username: 'body', session: 'body', date: new Date().toISOString(), version: '5.3' }),
  '{}', '{}', '{}',
];
const hmac = crypto.createHmac('sha256', key);
parts.forEach((part) => hmac.update(part));
await socket.send(['<IDS|MSG>', hmac.digest('hex'), ...parts]);
try {
  const frames = await socket.receive();
  probe.ports = 'reply ' + frames.map(String).join(' ').includes('kernel_info_reply');
} catch {
  probe.ports = 'no reply';
}
socket.close();
console.log(JSON.stringify(probe));
`;

/** Runs a cell; its stdout, or throws with what the kernel said. */
async function run(kernel: RawKernel, code: string): Promise<string> {
  const id = await kernel.send('shell', 'execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
  const published = await kernel.idleFor(id, 60_000);
  const errors = published.filter((m) => m.header.msg_type === 'error');
  if (errors.length > 0) {
    throw new Error(JSON.stringify(errors.map((m) => m.content)));
  }
  return published
    .filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout')
    .map((m) => String(m.content.text))
    .join('');
}

/** Starts a kernel with secrets (and `extra`) in its environment, probes it, and stops it. */
async function probeKernel(extra: Record<string, string>): Promise<Record<string, string>> {
  const kernel = await RawKernel.start({ AWS_SECRET_ACCESS_KEY: SECRET, JUPYTER_TOKEN: SECRET, ...extra });
  try {
    await run(kernel, SETUP);
    return JSON.parse(await run(kernel, PROBE)) as Record<string, string>;
  } finally {
    await kernel.dispose();
  }
}

jest.setTimeout(120_000);

describe('a %%serverless body and the kernel', () => {
  it('in the sandbox: no kernel environment, command line, memory, connection file, home or authenticated reply', async () => {
    const probe = await probeKernel({});
    expect(probe.environ).toMatch(/^denied: ENOENT/);
    expect(probe.cmdline).toMatch(/^denied: ENOENT/);
    expect(probe.mem).toMatch(/^denied: ENOENT/);
    expect(probe.connection).toMatch(/^denied: ENOENT/);
    expect(String(probe.home)).toMatch(/^denied: ENOENT|^0$/);
    // Its parent is the sandbox's init, which holds only the worker's clean environment.
    expect(probe.parentEnviron).not.toContain(SECRET);
    // Itself and the sandbox's init.
    expect(probe.processes).toBe('2');
    expect(probe.ports).toBe('no reply');
    expect(JSON.stringify(probe)).not.toContain(SECRET);
  });

  it('without the sandbox (SERVERLESS_SANDBOX=off): the documented limits, the body sees what the kernel user sees', async () => {
    const probe = await probeKernel({ SERVERLESS_SANDBOX: 'off' });
    expect(probe.environ).toContain(SECRET);
    expect(probe.connection).toContain('"key"');
    expect(probe.ports).toBe('reply true');
  });
});

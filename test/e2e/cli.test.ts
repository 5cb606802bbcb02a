/** The serverless-kernel CLI: kernelspec installation, argument errors, and `npm run offline`. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { KERNEL_CLI, REPO_ROOT } from '../helpers/paths';
import { freePort, isAlive, processTree, waitFor } from '../helpers/processes';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [KERNEL_CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('the serverless-kernel command', () => {
  it('is linked by npm (npx serverless-kernel) and prints its usage', () => {
    const result = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'serverless-kernel'), ['--help'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('install [options]');
    expect(result.stdout).toContain('kernel [options]');
  });
});

describe('serverless-kernel install and uninstall', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes kernel.json and logos under --prefix', () => {
    const result = cli(['install', '--prefix', dir]);
    expect(result.status).toBe(0);
    const kernelDir = path.join(dir, 'share', 'jupyter', 'kernels', 'serverless-ts');
    const spec = JSON.parse(readFileSync(path.join(kernelDir, 'kernel.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(spec).toMatchObject({
      display_name: 'TypeScript (serverless)',
      language: 'typescript',
      interrupt_mode: 'message',
    });
    const argv = spec.argv as string[];
    expect(argv[0]).toBe(process.execPath);
    // Node's options, then the CLI (see KERNEL_NODE_OPTIONS).
    expect(argv[1]).toBe('--v8-pool-size=1');
    expect(existsSync(argv[2])).toBe(true);
    expect(argv.slice(3)).toEqual(['kernel', '--connection-file', '{connection_file}']);
    for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) {
      expect(existsSync(path.join(kernelDir, logo))).toBe(true);
    }
    expect(result.stdout).toContain(kernelDir);
  });

  it('writes into the user data dir with --user', () => {
    const result = cli(['install', '--user'], { JUPYTER_DATA_DIR: dir });
    expect(result.status).toBe(0);
    expect(existsSync(path.join(dir, 'kernels', 'serverless-ts', 'kernel.json'))).toBe(true);
  });

  it('uninstall removes what install wrote under --prefix, and says when there is nothing to remove', () => {
    const kernelDir = path.join(dir, 'share', 'jupyter', 'kernels', 'serverless-ts');
    expect(cli(['install', '--prefix', dir]).status).toBe(0);
    const removed = cli(['uninstall', '--prefix', dir]);
    expect([removed.status, removed.stdout]).toEqual([
      0,
      `Removed kernelspec serverless-ts from ${kernelDir}\n`,
    ]);
    expect(existsSync(kernelDir)).toBe(false);
    const again = cli(['uninstall', '--prefix', dir]);
    expect([again.status, again.stdout]).toEqual([0, expect.stringContaining('nothing to remove')]);
  });

  it('uninstall from the user data dir keeps a file it did not install, and names it', () => {
    const kernelDir = path.join(dir, 'kernels', 'serverless-ts');
    expect(cli(['install', '--user'], { JUPYTER_DATA_DIR: dir }).status).toBe(0);
    writeFileSync(path.join(kernelDir, 'notes.txt'), 'mine');
    const result = cli(['uninstall', '--user'], { JUPYTER_DATA_DIR: dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`it also holds notes.txt, which it did not install`);
    expect(readdirSync(kernelDir)).toEqual(['notes.txt']);
  });

  it('refuses conflicting targets and unknown options, naming them', () => {
    const conflict = cli(['install', '--user', '--prefix', dir]);
    expect(conflict.status).not.toBe(0);
    expect(conflict.stderr).toMatch(/--user.*cannot be used with.*--prefix/);
    const unknown = cli(['install', '--everywhere']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("unknown option '--everywhere'");
  });

  it('exits with an error when a port is taken, instead of hanging', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const file = path.join(dir, 'connection.json');
    const ports = {
      shell_port: taken,
      iopub_port: taken + 1,
      stdin_port: taken + 2,
      control_port: taken + 3,
      hb_port: taken + 4,
    };
    writeFileSync(
      file,
      JSON.stringify({
        ...ports,
        ip: '127.0.0.1',
        key: 'k',
        transport: 'tcp',
        signature_scheme: 'hmac-sha256',
      }),
    );
    try {
      const result = spawnSync(process.execPath, [KERNEL_CLI, 'kernel', '--connection-file', file], {
        encoding: 'utf8',
        timeout: 20000,
      });
      expect(result.signal).toBeNull();
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Address already in use|EADDRINUSE/i);
    } finally {
      blocker.close();
    }
  });

  it('fails clearly on a missing connection file', () => {
    const result = cli(['kernel', '--connection-file', path.join(dir, 'missing.json')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Cannot read connection file');
  });
});

describe('npm run offline (serverless-kernel offline)', () => {
  it('starts the runner and s3rver on the given ports, prints the one config line, and stops both on SIGTERM', async () => {
    const [lambdaPort, s3Port] = [await freePort(), await freePort()];
    // What `npm run offline -- ...` runs (a terminal's Ctrl-C signals npm and it alike).
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.offline).toBe('node kernel-magics/cli.js offline');
    const child = spawn(
      process.execPath,
      [KERNEL_CLI, 'offline', '--lambda-port', String(lambdaPort), '--s3-port', String(s3Port)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    try {
      await waitFor(() => stdout.includes('Ctrl-C stops'), 60_000, 'the offline servers');
      const lines = stdout.split('\n').filter((line) => line.startsWith('%serverless config'));
      expect(lines).toEqual([
        `%serverless config --backend lambda --region us-east-1 --function serverless-kernel-runner --bucket serverless-kernel --endpoint http://127.0.0.1:${lambdaPort} --s3-endpoint http://127.0.0.1:${s3Port}`,
      ]);
      // Both listen on loopback only; the Lambda API answers an Invoke of an unknown function as AWS does.
      const response = await fetch(
        `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/nothing-here/invocations`,
        {
          method: 'POST',
          body: '{}',
        },
      );
      expect(response.status).toBe(404);
      const servers = processTree(child.pid ?? 0).slice(1);
      expect(servers.length).toBeGreaterThanOrEqual(2);
      child.kill('SIGTERM');
      // The CLI stops both servers by PID, then exits.
      await waitFor(
        () => servers.every((pid) => !isAlive(pid)) && !isAlive(child.pid ?? 0),
        20_000,
        'the servers to stop',
      );
      expect(await accepts(lambdaPort)).toBe(false);
      expect(await accepts(s3Port)).toBe(false);
    } finally {
      for (const pid of processTree(child.pid ?? 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
  }, 150_000);
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe("the runner's serverless.yml (Serverless Framework v3)", () => {
  it('packages the built runner with `serverless package`, no account needed, scoped to the bucket', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'jsl-sls-'));
    try {
      const result = spawnSync(
        process.execPath,
        [
          path.join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
          'package',
          '--package',
          out,
          '--param=bucket=my-payloads',
          '--param=function=my-runner',
          '--param=arch=arm64',
        ],
        {
          cwd: path.join(REPO_ROOT, 'kernel-magics', 'lambda'),
          encoding: 'utf8',
          timeout: 90_000,
          // The framework reads credentials only to deploy; packaging must not need real ones.
          env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        },
      );
      expect(result.stderr + result.stdout).not.toMatch(/Warning|Invalid configuration/);
      expect(result.status).toBe(0);
      const template = JSON.parse(
        readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
      ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
      const resources = Object.values(template.Resources);
      const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function')?.Properties;
      expect(fn).toMatchObject({
        FunctionName: 'my-runner',
        Handler: 'dist/handler.handler',
        Runtime: 'nodejs20.x',
        Timeout: 900,
        Architectures: ['arm64'],
        EphemeralStorage: { Size: 1024 },
      });
      const role = JSON.stringify(resources.find((r) => r.Type === 'AWS::IAM::Role')?.Properties);
      expect(role).toContain('arn:aws:s3:::my-payloads/*');
      expect(role).not.toMatch(/"s3:\*"|"Resource":"\*"/);
      const zip = readFileSync(path.join(out, 'serverless-kernel-runner.zip')).toString('latin1');
      for (const entry of [
        'dist/handler.js',
        'dist/src/index.js',
        'dist/src/runtime/local/worker.bundle.js',
      ]) {
        expect(zip).toContain(entry);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

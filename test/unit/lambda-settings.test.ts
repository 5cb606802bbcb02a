/**
 * The Lambda settings through the kernel's own `%serverless config` line
 * (real tslab engine, real line magics, no sockets): what is accepted and
 * shown, each invalid value refused with a message naming its flag, an
 * endpoint with credentials refused without echoing them, the region from
 * the environment, incomplete settings described with what is missing,
 * `--reset`, and a refused line that changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { ExecutionOutcome } from '../../kernel-magics/src/kernel/engine';
import { createKernelEngine } from '../../kernel-magics/src/kernel-engine';
import { ServerlessEngine } from '../../kernel-magics/src/magics/serverless-engine';
import { setOutputSink } from '../../kernel-magics/src/output/sink';
import { TslabEngine } from '../../kernel-magics/src/tslab';

const REGION_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const;
const savedRegion = Object.fromEntries(REGION_VARIABLES.map((name) => [name, process.env[name]]));

let dir: string;
let engine: ServerlessEngine;
let printed = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lambda-settings-'));
  setOutputSink({
    stream: (_name, text) => {
      printed += text;
    },
    display: () => undefined,
    clear: () => undefined,
  });
  ({ engine } = createKernelEngine({ inner: new TslabEngine(dir), comms: new CommRegistry(), cwd: dir }));
});

afterAll(() => {
  engine.dispose();
  setOutputSink(undefined);
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const name of REGION_VARIABLES) {
    delete process.env[name];
  }
  await config('--reset');
});

afterEach(() => {
  for (const name of REGION_VARIABLES) {
    if (savedRegion[name] === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = savedRegion[name];
    }
  }
});

/** Runs `%serverless config <args>`: what it printed, and how it ended. */
async function config(args: string): Promise<{ outcome: ExecutionOutcome; printed: string }> {
  printed = '';
  const outcome = await engine.execute(`%serverless config ${args}`.trimEnd());
  return { outcome, printed };
}

/** The message of a refused config line. */
async function refusal(args: string): Promise<string> {
  const { outcome, printed: out } = await config(args);
  expect(outcome.status).toBe('error');
  expect(out).toBe('');
  const error = (outcome as { error: Error }).error;
  expect(error.name).toBe('MagicUsageError');
  return error.message;
}

/** The Lambda line `%serverless config` prints now ('' when nothing is set). */
async function lambdaLine(): Promise<string> {
  const { outcome, printed: out } = await config('');
  expect(outcome.status).toBe('ok');
  return out.split('\n').find((line) => line.startsWith('Lambda:')) ?? '';
}

const FULL =
  '--backend lambda --region eu-west-1 --function my-runner_2 --bucket my.payload-bucket ' +
  '--endpoint http://127.0.0.1:3002/ --s3-endpoint https://s3.local:4569 --arch arm64';

describe('%serverless config: Lambda settings', () => {
  it('takes valid settings and shows them, with the backend default', async () => {
    const { outcome, printed: out } = await config(FULL);
    expect(outcome.status).toBe('ok');
    expect(out).toContain('--backend lambda');
    expect(out).toContain(
      'Lambda: function my-runner_2 in eu-west-1 (arm64), payloads in s3://my.payload-bucket, ' +
        'Lambda API at http://127.0.0.1:3002, S3 at https://s3.local:4569\n',
    );
  });

  it('defaults the architecture to x86_64 and shows no endpoints when none was given', async () => {
    await config('--region us-east-1 --function runner --bucket bucket-1');
    expect(await lambdaLine()).toBe(
      'Lambda: function runner in us-east-1 (x86_64), payloads in s3://bucket-1',
    );
  });

  it('streams by default (auto, not shown), shows --stream on|off, and refuses another mode', async () => {
    await config('--region us-east-1 --function runner --bucket bucket-1');
    expect(await lambdaLine()).not.toContain('streaming');
    await config('--stream off');
    expect(await lambdaLine()).toContain(', streaming off');
    await config('--stream auto');
    expect(await lambdaLine()).not.toContain('streaming');
    const { outcome } = await config('--stream sometimes');
    expect(outcome.status).toBe('error');
  });

  it('changes only what a later line gives', async () => {
    await config(FULL);
    await config('--function other-runner');
    expect(await lambdaLine()).toContain(
      'function other-runner in eu-west-1 (arm64), payloads in s3://my.payload-bucket',
    );
  });

  it.each([
    ['--region', 'EU-WEST-1', 'an AWS region such as us-east-1'],
    ['--region', 'us-east', 'an AWS region such as us-east-1'],
    ['--function', 'has.dot', 'a function name'],
    ['--function', 'x'.repeat(65), 'a function name'],
    ['--bucket', 'Upper_Case', 'an S3 bucket name'],
    ['--bucket', 'ab', 'an S3 bucket name'],
    ['--bucket', '-starts-with-dash', 'an S3 bucket name'],
    ['--endpoint', 'not-a-url', 'not a URL'],
    ['--endpoint', 'ftp://127.0.0.1:21', 'is not http(s)://host:port'],
    ['--s3-endpoint', 'localhost:4569', 'http(s)://host:port'],
    ['--arch', 'sparc', 'x86_64, arm64'],
  ])('refuses %s %s, naming the flag and what it takes', async (flag, value, expected) => {
    const message = await refusal(`${flag} ${value}`);
    expect(message).toContain(flag);
    expect(message).toContain(expected);
    expect(await lambdaLine()).toBe('');
  });

  it.each(['--endpoint', '--s3-endpoint'])(
    'refuses %s with credentials in it without echoing them',
    async (flag) => {
      const secrets = ['AKIAEXAMPLEKEY', 'wJalrXUtnFEMI-secret'];
      for (const url of [
        `http://${secrets[0]}:${secrets[1]}@127.0.0.1:3002`,
        `ftp://${secrets[0]}:${secrets[1]}@127.0.0.1:21`,
        `https://${secrets[0]}@s3.local:4569/path`,
      ]) {
        const { outcome, printed: out } = await config(`${flag} ${url}`);
        expect(outcome.status).toBe('error');
        const error = (outcome as { error: Error }).error;
        expect(error.message).toContain(flag);
        expect(error.message).toContain("AWS SDK's default chain");
        for (const text of [error.message, String(error.stack), out]) {
          for (const secret of secrets) {
            expect(text).not.toContain(secret);
          }
        }
      }
      expect(await lambdaLine()).toBe('');
    },
  );

  it('keeps only scheme, host and port of an endpoint (nothing of its path or query)', async () => {
    await config(
      '--region us-east-1 --function f --bucket bucket-1 --endpoint http://127.0.0.1:3002/x?X-Amz-Security-Token=tok',
    );
    const line = await lambdaLine();
    expect(line).toContain('Lambda API at http://127.0.0.1:3002');
    expect(line).not.toContain('tok');
  });

  it('takes the region from AWS_REGION, else AWS_DEFAULT_REGION; a given --region wins', async () => {
    await config('--function runner --bucket bucket-1');
    process.env.AWS_DEFAULT_REGION = 'ap-south-1';
    expect(await lambdaLine()).toContain('in ap-south-1 (x86_64)');
    process.env.AWS_REGION = 'eu-central-1';
    expect(await lambdaLine()).toContain('in eu-central-1 (x86_64)');
    await config('--region us-west-2');
    expect(await lambdaLine()).toContain('in us-west-2 (x86_64)');
  });

  it('says what is missing while the settings are incomplete', async () => {
    await config('--function runner');
    expect(await lambdaLine()).toBe('Lambda: not usable yet, set --region, --bucket');
    process.env.AWS_REGION = 'us-east-1';
    expect(await lambdaLine()).toBe('Lambda: not usable yet, set --bucket');
    await config('--reset --bucket bucket-1');
    expect(await lambdaLine()).toBe('Lambda: not usable yet, set --function');
  });

  it('forgets every setting with --reset', async () => {
    await config(FULL);
    const { outcome, printed: out } = await config('--reset');
    expect(outcome.status).toBe('ok');
    expect(out).not.toContain('Lambda');
    expect(out).not.toContain('--backend lambda');
  });

  it('changes nothing when a line is refused: neither the Lambda settings nor the defaults', async () => {
    await config(FULL);
    const before = (await config('')).printed;
    expect(await refusal('--function renamed --bucket NOT_VALID')).toContain('--bucket');
    expect((await config('')).printed).toBe(before);
    expect(await refusal('--memory 512 --region nowhere')).toContain('--region');
    expect((await config('')).printed).toBe(before);
    expect(await refusal('--reset --arch sparc')).toContain('--arch');
    expect((await config('')).printed).toBe(before);
    expect(await refusal('--reset --endpoint not-a-url')).toContain('--endpoint');
    expect((await config('')).printed).toBe(before);
  });
});

/**
 * The kernel's Lambda settings, set by `%serverless config --backend lambda
 * --region R --function NAME --bucket B [--endpoint URL] [--s3-endpoint URL]
 * [--arch x86_64|arm64]`: where `--backend lambda` cells are invoked.
 * Checked when set, so a typo fails at the config line, not at the first
 * invocation. Nothing here is secret: credentials come from the AWS SDK's
 * default chain, and an endpoint with credentials in it is refused.
 */
import { Command, Option } from 'commander';

import type { Arch } from '../cost/prices';
import { LambdaSettings, STREAM_MODES, StreamMode } from '../runtime/lambda/config';
import { MagicUsageError } from './usage';

/** The `%serverless config` options of the Lambda settings. */
export const LAMBDA_SETTING_FLAGS = [
  '--region',
  '--function',
  '--bucket',
  '--endpoint',
  '--s3-endpoint',
  '--arch',
  '--stream',
];

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The Lambda settings of a kernel. */
export class LambdaSettingsHolder {
  private values: Partial<LambdaSettings> = {};

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The options `%serverless config` takes for them. */
  static options(): Option[] {
    return [
      new Option(
        '--region <region>',
        'AWS region of the runner function and the bucket (default: $AWS_REGION)',
      ),
      new Option('--function <name>', 'the runner function (deployed with %serverless deploy)'),
      new Option('--bucket <bucket>', 'S3 bucket for payloads over the invoke limit'),
      new Option(
        '--endpoint <url>',
        'a Lambda API endpoint other than AWS (serverless-offline: npm run offline)',
      ),
      new Option('--s3-endpoint <url>', 'an S3 endpoint other than AWS (s3rver)'),
      new Option('--arch <arch>', 'the runner architecture, for its price').choices(['x86_64', 'arm64']),
      new Option(
        '--stream <mode>',
        'output into the cell as it is made (InvokeWithResponseStream): auto (default: on, falling back ' +
          'to a synchronous Invoke where the endpoint has no streaming, as serverless-offline), on, off',
      ).choices([...STREAM_MODES]),
    ];
  }

  /**
   * Takes the Lambda options `program` was given (over nothing with
   * `reset`, else over the current settings); true when it was given any.
   * All or nothing: a value that is refused leaves the settings as they were.
   *
   * @throws MagicUsageError naming a value that is not valid, and what a valid one looks like.
   */
  set(program: Command, options: { reset?: boolean } = {}): boolean {
    const given = (key: string): string | undefined =>
      program.getOptionValueSource(key) === 'cli' ? String(program.getOptionValue(key)) : undefined;
    const next: Partial<LambdaSettings> = options.reset ? {} : { ...this.values };
    const region = given('region');
    if (region !== undefined) {
      next.region = check('--region', region, REGION, 'an AWS region such as us-east-1');
    }
    const fn = given('function');
    if (fn !== undefined) {
      next.functionName = check(
        '--function',
        fn,
        FUNCTION_NAME,
        'a function name (letters, digits, - and _)',
      );
    }
    const bucket = given('bucket');
    if (bucket !== undefined) {
      next.bucket = check(
        '--bucket',
        bucket,
        BUCKET,
        'an S3 bucket name (lowercase letters, digits, . and -)',
      );
    }
    const endpoint = given('endpoint');
    if (endpoint !== undefined) {
      next.endpoint = checkEndpoint('--endpoint', endpoint);
    }
    const s3Endpoint = given('s3Endpoint');
    if (s3Endpoint !== undefined) {
      next.s3Endpoint = checkEndpoint('--s3-endpoint', s3Endpoint);
    }
    const arch = given('arch');
    if (arch !== undefined) {
      next.arch = arch as Arch;
    }
    const stream = given('stream');
    if (stream !== undefined) {
      next.stream = stream as StreamMode;
    }
    const changed = [region, fn, bucket, endpoint, s3Endpoint, arch, stream].some(
      (value) => value !== undefined,
    );
    this.values = next;
    return changed;
  }

  /** Complete settings, or undefined while the function or the bucket is missing. */
  settings(): LambdaSettings | undefined {
    const region = this.values.region ?? this.env.AWS_REGION ?? this.env.AWS_DEFAULT_REGION;
    const { functionName, bucket } = this.values;
    if (region === undefined || functionName === undefined || bucket === undefined) {
      return undefined;
    }
    return {
      region,
      functionName,
      bucket,
      endpoint: this.values.endpoint,
      s3Endpoint: this.values.s3Endpoint,
      arch: this.values.arch ?? 'x86_64',
      stream: this.values.stream ?? 'auto',
    };
  }

  /** Forgets every setting. */
  reset(): void {
    this.values = {};
  }

  /** One line for `%serverless config`, or '' when nothing is set. */
  describe(): string {
    const settings = this.settings();
    if (settings) {
      return (
        `Lambda: function ${settings.functionName} in ${settings.region} (${settings.arch}), payloads in s3://${settings.bucket}` +
        (settings.endpoint ? `, Lambda API at ${settings.endpoint}` : '') +
        (settings.s3Endpoint ? `, S3 at ${settings.s3Endpoint}` : '') +
        (settings.stream !== 'auto' ? `, streaming ${settings.stream}` : '') +
        '\n'
      );
    }
    const missing = [
      (this.values.region ?? this.env.AWS_REGION ?? this.env.AWS_DEFAULT_REGION) ? undefined : '--region',
      this.values.functionName ? undefined : '--function',
      this.values.bucket ? undefined : '--bucket',
    ].filter((flag): flag is string => flag !== undefined);
    return Object.keys(this.values).length > 0 ? `Lambda: not usable yet, set ${missing.join(', ')}\n` : '';
  }
}

function check(flag: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) {
    throw new MagicUsageError(`%serverless config ${flag}: ${JSON.stringify(value)} is not ${expected}.`);
  }
  return value;
}

function checkEndpoint(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MagicUsageError(`%serverless config ${flag}: not a URL; give http(s)://host:port.`);
  }
  if (url.username || url.password) {
    // Not echoed: it holds credentials.
    throw new MagicUsageError(
      `%serverless config ${flag}: the URL has credentials in it; they come from the AWS SDK's default chain ` +
        '(AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws), never from the notebook.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MagicUsageError(
      `%serverless config ${flag}: ${JSON.stringify(value)} is not http(s)://host:port.`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * `--backend lambda` from a notebook: the runner under serverless-offline
 * and s3rver, started by the product's own `npm run offline` code.
 * 1. The notebook suite of the embedded runtime again, unchanged but for the
 *    `%serverless config` line `npm run offline` prints
 *    (helpers/serverless-cells-suite.ts).
 * 2. What only a remote backend has: payloads over Lambda's 6 MB limit both
 *    ways through the bucket, a cell's imports bundled
 *    (test/notebooks/lambda-cells.ipynb).
 */
import * as path from 'node:path';

import { OfflineServers, S3RVER_CREDENTIALS, startOffline } from '../../kernel-magics/src/cli/offline';
import { joinText as text, NotebookOutput as Output } from '../helpers/nbformat';
import { REPO_ROOT } from '../helpers/paths';
import { freePort } from '../helpers/processes';
import {
  describeServerlessCells,
  executeServerlessCells,
  ExecutedCells,
} from '../helpers/serverless-cells-suite';

let servers: OfflineServers | undefined;
const configCell = (): string => `${servers?.configLine ?? ''}\n`;
const env = (): NodeJS.ProcessEnv => ({ ...S3RVER_CREDENTIALS, AWS_REGION: 'us-east-1' });

describeServerlessCells({
  backend: 'lambda',
  streamsLive: false,
  setup: async () => {
    servers = await startOffline({ lambdaPort: await freePort(), s3Port: await freePort() });
  },
  configCell,
  env,
  teardown: async () => {
    await servers?.stop();
  },
});

describe('lambda: what travels through the bucket, and bundled imports', () => {
  let cells: ExecutedCells;
  const outputs = (tag: string): Output[] => cells.get(tag)?.outputs ?? [];
  const result = (tag: string): string =>
    text(outputs(tag).find((o) => o.output_type === 'execute_result')?.data?.['text/plain']);
  const error = (tag: string): Output | undefined => outputs(tag).find((o) => o.output_type === 'error');
  const stdout = (tag: string): string =>
    outputs(tag)
      .filter((o) => o.output_type === 'stream' && o.name === 'stdout')
      .map((o) => text(o.text))
      .join('');

  beforeAll(() => {
    ({ cells } = executeServerlessCells(
      { configCell, env },
      path.join(REPO_ROOT, 'test', 'notebooks', 'lambda-cells.ipynb'),
    ));
  }, 300_000);

  it('sends a 10 MB capture through the bucket', () => {
    expect(error('spill-in')).toBeUndefined();
    const sum = Array.from({ length: 2560 }, (_, k) => (k * 4096) % 251).reduce((a, b) => a + b, 0);
    expect(result('spill-in').replace(/\s+/g, '')).toBe(`[10485760,250,0,${sum}]`);
  });

  it('brings a 10 MB result back through the bucket', () => {
    expect(error('spill-out')).toBeUndefined();
    expect(result('spill-out')).toBe('10485760');
    expect(result('spill-out-check')).toBe('true');
  });

  it('sends a 10 MB --map element through the bucket, and a small one inline', () => {
    expect(error('spill-map')).toBeUndefined();
    expect(result('spill-map')).toBe('[ 10485760, 3 ]');
  });

  it("bundles a cell's imports from the notebook's directory", () => {
    expect(error('bundle')).toBeUndefined();
    expect(result('bundle')).toBe('42');
  });

  it('says what to do when an import cannot be bundled, before invoking', () => {
    expect(error('bundle-missing')?.ename).toBe('BundleError');
    expect(error('bundle-missing')?.evalue).toMatch(/no-such-file/);
  });

  it("bills the bucket's requests of spilled payloads to their runs", () => {
    const report = outputs('cost').find((o) => o.output_type === 'display_data');
    const plain = text(report?.data?.['text/plain']);
    // Every run here but the spills keeps its payloads inline: the store's part is the spills' S3 requests.
    expect(plain).toMatch(/storage \$0\.\d*[1-9]/);
  });

  it('reports code an invocation left behind when it fails, blaming that invocation, and goes on', () => {
    expect(result('late-1')).toBe("'first'");
    expect(result('late-2')).toBe("'second'");
    const stderr = outputs('late-2')
      .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
      .map((o) => text(o.text))
      .join('');
    expect(stderr).toMatch(/left running after it returned failed/);
    expect(stderr).toMatch(/Error: left behind/);
    // Blamed on the cell that left it (its execution count), at the line that threw.
    expect(stderr).toContain(`of [${cells.get('late-1')?.execution_count ?? -1}] %%serverless left running`);
    expect(stderr).toMatch(/<cell>:4:\d+/);
  });

  it("refuses the embedded store inside a Lambda invocation, saying what to use (its files are the Lambda's own)", () => {
    expect(error('embedded-refused')?.ename).toBe('StoreConfigError');
    expect(error('embedded-refused')?.evalue).toMatch(
      /runs on AWS Lambda.*%serverless config --store s3:\/\//,
    );
  });

  it('shows no process warnings of the kernel or the runner in any cell (40 invocations sharing a run)', () => {
    expect(error('many')).toBeUndefined();
    expect(result('many').replace(/\s+/g, '')).toBe(
      `[${Array.from({ length: 40 }, (_, i) => i * 2).join(',')}]`,
    );
    const stderr = [...cells.values()]
      .flatMap((c) => c.outputs ?? [])
      .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
      .map((o) => text(o.text))
      .join('');
    expect(stderr).not.toMatch(/\(node:\d+\)|Warning: (?!code that invocation)/);
  });

  it('%serverless status names the function', () => {
    expect(stdout('status')).toMatch(/serverless-kernel-runner/);
  });
});

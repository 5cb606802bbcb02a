// The real-AWS smoke test, for people with an account (never run in CI: it needs
// credentials and spends a few cents at most). It deploys the runner through the SDK
// (as `%serverless deploy` does), runs binder/demo.ipynb on Lambda with nbclient, prints
// what each cell gave and what the runs cost, then deletes the function and the role the
// deploy created. Credentials come from the AWS SDK's default chain (`aws configure`,
// AWS_PROFILE); the bucket must exist.
// Usage: npm run build && node scripts/aws-smoke.mjs --region R --bucket B [--function NAME] [--keep]
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    region: { type: 'string', default: process.env.AWS_REGION },
    bucket: { type: 'string' },
    function: { type: 'string', default: 'serverless-kernel-smoke' },
    keep: { type: 'boolean', default: false },
  },
});
if (!values.region || !values.bucket) {
  process.stderr.write(
    'usage: node scripts/aws-smoke.mjs --region R --bucket B [--function NAME] [--keep]\n',
  );
  process.exit(2);
}
const settings = {
  region: values.region,
  functionName: values.function,
  bucket: values.bucket,
  arch: 'x86_64',
};
const { deployRunner } = require(path.join(root, 'kernel-magics/dist/src/cli/deploy.js'));
const { LambdaClient, DeleteFunctionCommand } = require('@aws-sdk/client-lambda');
const iam = require('@aws-sdk/client-iam');

const abort = new AbortController();
process.once('SIGINT', () => abort.abort(new Error('interrupted')));

async function teardown() {
  const lambda = new LambdaClient({ region: settings.region });
  const client = new iam.IAMClient({ region: settings.region });
  const roleName = `${settings.functionName}-runner-role`;
  try {
    // Deletes every version and alias with it.
    await lambda.send(new DeleteFunctionCommand({ FunctionName: settings.functionName }));
    console.log(`deleted function ${settings.functionName}`);
    const attached = await client.send(new iam.ListAttachedRolePoliciesCommand({ RoleName: roleName }));
    for (const policy of attached.AttachedPolicies ?? []) {
      await client.send(new iam.DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policy.PolicyArn }));
    }
    const inline = await client.send(new iam.ListRolePoliciesCommand({ RoleName: roleName }));
    for (const name of inline.PolicyNames ?? []) {
      await client.send(new iam.DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    }
    await client.send(new iam.DeleteRoleCommand({ RoleName: roleName }));
    console.log(`deleted role ${roleName}`);
  } finally {
    lambda.destroy();
    client.destroy();
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'serverless-kernel-smoke-'));
let failed = false;
try {
  await deployRunner({
    settings,
    memorySizes: [512, 1024],
    dryRun: false,
    signal: abort.signal,
    write: (line) => console.log(line),
  });
  // The kernelspec in a prefix of its own, and the demo with the config line first.
  const prefix = path.join(work, 'prefix');
  execFileSync(process.execPath, [path.join(root, 'kernel-magics/cli.js'), 'install', '--prefix', prefix]);
  const notebook = JSON.parse(readFileSync(path.join(root, 'binder/demo.ipynb'), 'utf8'));
  const store = `s3://${settings.bucket}/serverless-kernel-smoke?region=${settings.region}`;
  notebook.cells.unshift({
    cell_type: 'code',
    metadata: {},
    outputs: [],
    execution_count: null,
    source:
      `%serverless config --backend lambda --region ${settings.region} --function ${settings.functionName} ` +
      `--bucket ${settings.bucket} --store ${store}\n`,
  });
  const source = path.join(work, 'demo-on-lambda.ipynb');
  const executed = path.join(work, 'executed.ipynb');
  writeFileSync(source, JSON.stringify(notebook));
  const run = spawnSync(
    '/usr/bin/python3',
    [path.join(root, 'test/notebooks/execute_timed.py'), source, executed, work],
    { env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') }, stdio: 'inherit' },
  );
  if (run.status !== 0) {
    throw new Error(`nbclient exited with ${run.status}`);
  }
  const done = JSON.parse(readFileSync(executed, 'utf8'));
  for (const [index, cell] of done.cells.entries()) {
    if (cell.cell_type !== 'code') {
      continue;
    }
    for (const output of cell.outputs ?? []) {
      const text =
        output.output_type === 'error'
          ? `ERROR ${output.ename}: ${output.evalue}`
          : [output.text, output.data?.['text/plain']].flat().filter(Boolean).join('');
      console.log(`[${index}] ${String(text).split('\n').slice(0, 6).join('\n    ')}`);
    }
  }
} catch (error) {
  failed = true;
  console.error(`smoke test failed: ${error?.message ?? error}`);
} finally {
  rmSync(work, { recursive: true, force: true });
  if (!values.keep) {
    await teardown().catch((error) => {
      failed = true;
      console.error(`teardown failed (delete the function and its role by hand): ${error?.message ?? error}`);
    });
  }
}
process.exit(failed ? 1 : 0);

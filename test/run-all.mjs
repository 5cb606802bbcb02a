// npm test: lint, the jest suites (unit + end-to-end against real servers)
// and Jupyter's kernel conformance suite, then one summary line
// "N passed, N failed, N skipped" over all of them. Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;

function run(title, command, args, options = {}) {
  process.stdout.write(`\n=== ${title}: ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) {
    process.stdout.write(`${title}: could not start: ${result.error.message}\n`);
  }
  return result.status ?? 1;
}

// 1. Lint and format.
if (run('lint', 'npm', ['run', 'lint', '--silent']) === 0) {
  totals.passed += 1;
} else {
  totals.failed += 1;
  ok = false;
}

// 2. Jest.
const jestJson = path.join(resultsDir, 'jest.json');
rmSync(jestJson, { force: true });
const jestStatus = run('jest', 'npx', ['jest', '--json', `--outputFile=${jestJson}`]);
try {
  const report = JSON.parse(readFileSync(jestJson, 'utf8'));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
  totals.skipped += report.numPendingTests + report.numTodoTests;
  if (report.numTotalTests === 0) {
    process.stdout.write('jest: no tests ran\n');
    ok = false;
  }
} catch {
  process.stdout.write('jest: no report was written\n');
  totals.failed += 1;
}
if (jestStatus !== 0) {
  ok = false;
}

// 3. jupyter_kernel_test against the installed kernelspec.
const prefix = mkdtempSync(path.join(os.tmpdir(), 'jsl-conformance-'));
try {
  spawnSync(
    process.execPath,
    ['kernel-magics/dist/bin/serverless-kernel.js', 'install', '--prefix', prefix],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  // Run from the temp dir: the kernel's cwd then has no node_modules, as a notebook's would not.
  const conformance = spawnSync(
    '/usr/bin/python3',
    [path.join(root, 'test/conformance/test_serverless_ts.py'), '-v'],
    {
      cwd: prefix,
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
    },
  );
  process.stdout.write('\n=== kernel conformance (jupyter_kernel_test)\n');
  process.stdout.write(conformance.stdout ?? '');
  process.stdout.write(conformance.stderr ?? '');
  const out = `${conformance.stdout}\n${conformance.stderr}`;
  const ran = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0);
  const count = (name) => Number(new RegExp(`${name}=(\\d+)`).exec(out)?.[1] ?? 0);
  const failed = count('failures') + count('errors');
  const skipped = count('skipped');
  totals.passed += ran - failed - skipped;
  totals.failed += failed;
  totals.skipped += skipped;
  if (conformance.status !== 0 || ran === 0) {
    ok = false;
    if (ran === 0) {
      totals.failed += 1;
    }
  }
} finally {
  rmSync(prefix, { recursive: true, force: true });
}

process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(ok && totals.failed === 0 ? 0 : 1);

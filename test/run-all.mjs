// npm test: lint, the jest suites (unit + end-to-end against real servers)
// and Jupyter's kernel conformance suite, then one summary line
// "N passed, N failed, N skipped" over all of them. Exits non-zero on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** How long jest may take to exit after writing its report. */
const JEST_EXIT_GRACE_MS = 15_000;
/** How long the jest suites may take in all. */
const JEST_DEADLINE_MS = 30 * 60_000;
/** How long the kernel conformance suite may take. */
const CONFORMANCE_DEADLINE_MS = 10 * 60_000;

/**
 * Runs jest in its own process group and stops that group if jest has not
 * exited JEST_EXIT_GRACE_MS after writing its report (a socket, timer or
 * process a suite left open keeps jest alive; jest no longer force-exits,
 * so such a leak fails the run here instead of hiding) or after
 * JEST_DEADLINE_MS in all. Resolves with jest's exit status and whether
 * it had to be stopped.
 */
function runJest(args, reportFile) {
  process.stdout.write(`\n=== jest: npx ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn('npx', args, { cwd: root, stdio: 'inherit', detached: true });
    const started = Date.now();
    let reportAt;
    let stopped = false;
    const stopGroup = (why) => {
      stopped = true;
      process.stdout.write(`\njest: ${why}; stopping it\n`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const forward = (signal) => () => {
      stopGroup(`npm test got ${signal}`);
      process.exit(130);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const watch = setInterval(() => {
      if (reportAt === undefined && existsSync(reportFile)) {
        reportAt = Date.now();
      }
      if (reportAt !== undefined && Date.now() - reportAt > JEST_EXIT_GRACE_MS) {
        stopGroup(
          `still running ${JEST_EXIT_GRACE_MS / 1000} s after its report: a suite left a handle open ` +
            '(find it with `npx jest --detectOpenHandles <suite>`)',
        );
        clearInterval(watch);
      } else if (Date.now() - started > JEST_DEADLINE_MS) {
        stopGroup(`not done after ${JEST_DEADLINE_MS / 60_000} min`);
        clearInterval(watch);
      }
    }, 500);
    const done = (status) => {
      clearInterval(watch);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve({ status, stopped });
    };
    child.on('exit', (code) => done(code ?? 1));
    child.on('error', (error) => {
      process.stdout.write(`jest: could not start: ${error.message}\n`);
      done(1);
    });
  });
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
const { status: jestStatus, stopped: jestStopped } = await runJest(
  ['jest', '--json', `--outputFile=${jestJson}`],
  jestJson,
);
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
if (jestStopped) {
  totals.failed += 1;
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
      timeout: CONFORMANCE_DEADLINE_MS,
      killSignal: 'SIGKILL',
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
    },
  );
  process.stdout.write('\n=== kernel conformance (jupyter_kernel_test)\n');
  if (conformance.error) {
    process.stdout.write(
      `conformance: ${conformance.error.message} (deadline ${CONFORMANCE_DEADLINE_MS / 60_000} min)\n`,
    );
  }
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

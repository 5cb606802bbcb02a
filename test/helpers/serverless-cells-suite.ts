/**
 * The notebook suite of `%%serverless` cells, shared by every backend:
 * test/notebooks/serverless-cells.ipynb executed by nbclient against the
 * installed `serverless-ts` kernel, then the same assertions whichever
 * backend ran it. A backend's suite gives the lines its notebook starts with
 * (`%serverless config ...`) and the environment the kernel needs; the
 * notebook is otherwise unchanged.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { kernelEnvironment } from './jupyter-server';
import { REPO_ROOT, SYSTEM_PYTHON } from './paths';
import { NotebookCell as Cell, NotebookOutput as Output } from './nbformat';
import { CELL_MAGIC_OPTIONS } from './magic-options';

const NOTEBOOK = path.join(REPO_ROOT, 'test', 'notebooks', 'serverless-cells.ipynb');
const DRIVER = path.join(REPO_ROOT, 'test', 'notebooks', 'execute_timed.py');
const text = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join('') : (value ?? '');

/** How a backend runs the suite. */
export interface ServerlessCellsSuite {
  /** The backend, in test names. */
  backend: string;
  /** Code of a cell put before the notebook's first (the backend's `%serverless config` line); none for the default. */
  configCell?: () => string;
  /** Extra environment of the kernel (credentials of a local S3). */
  env?: () => NodeJS.ProcessEnv;
  /**
   * Whether output reaches the cell while the invocation runs (the embedded runtime streams it; a
   * synchronous Lambda Invoke returns it with the result).
   */
  streamsLive: boolean;
  /** Runs before the notebook (start servers); its timeout is the hook's. */
  setup?: () => Promise<void>;
  /** Runs after every assertion (stop servers). */
  teardown?: () => Promise<void>;
}

/** The executed notebook's code cells by tag. */
export type ExecutedCells = Map<string, Cell>;

/**
 * Runs a notebook (default: the suite's) with `suite`'s config cell first; the executed cells by tag,
 * and nbclient's stderr.
 */
export function executeServerlessCells(
  suite: Pick<ServerlessCellsSuite, 'configCell' | 'env'>,
  notebookPath = NOTEBOOK,
): { cells: ExecutedCells; stderr: string } {
  const { env, home } = kernelEnvironment();
  const workdir = path.join(home, 'notebooks');
  mkdirSync(workdir, { recursive: true });
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-sl-nb-'));
  const source = path.join(outDir, path.basename(notebookPath));
  const executed = path.join(outDir, 'executed.ipynb');
  try {
    const notebook = JSON.parse(readFileSync(notebookPath, 'utf8')) as { cells: Cell[] };
    if (suite.configCell) {
      notebook.cells.unshift({
        cell_type: 'code',
        metadata: { tags: ['backend-config'] },
        source: suite.configCell(),
        outputs: [],
        execution_count: null,
      });
    }
    writeFileSync(source, JSON.stringify(notebook));
    const run = spawnSync(SYSTEM_PYTHON, [DRIVER, source, executed, workdir], {
      env: { ...env, ...suite.env?.(), JSL_TEST_SECRET: 'must-not-reach-workers' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    const done = JSON.parse(readFileSync(executed, 'utf8')) as { cells: Cell[] };
    return {
      stderr: run.stderr,
      cells: new Map(
        done.cells.filter((c) => c.cell_type === 'code').map((c) => [c.metadata.tags?.[0] ?? '', c]),
      ),
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/** Declares the suite's tests (call at a test file's top level). */
export function describeServerlessCells(suite: ServerlessCellsSuite): void {
  let cells: ExecutedCells;
  let runStderr = '';

  function cell(tag: string): Cell {
    const found = cells.get(tag);
    if (!found) {
      throw new Error(`no executed cell tagged ${tag}`);
    }
    return found;
  }
  const outputs = (tag: string): Output[] => cell(tag).outputs ?? [];
  const result = (tag: string): string =>
    text(outputs(tag).find((o) => o.output_type === 'execute_result')?.data?.['text/plain']);
  const stream = (tag: string, name = 'stdout'): string =>
    outputs(tag)
      .filter((o) => o.output_type === 'stream' && o.name === name)
      .map((o) => text(o.text))
      .join('');
  const error = (tag: string): Output | undefined => outputs(tag).find((o) => o.output_type === 'error');

  beforeAll(async () => {
    await suite.setup?.();
    ({ cells, stderr: runStderr } = executeServerlessCells(suite));
  }, 420_000);

  afterAll(async () => {
    await suite.teardown?.();
  }, 60_000);

  if (suite.configCell) {
    it(`configures the ${suite.backend} backend`, () => {
      expect(error('backend-config')).toBeUndefined();
    });
  }

  describe('a %%serverless cell', () => {
    it('captures kernel variables and returns the last expression', () => {
      expect(runStderr).not.toMatch(/Traceback \(most recent call last\)/);
      expect(error('capture')).toBeUndefined();
      expect(result('capture')).toBe('33');
    });

    it('makes top-level declarations kernel variables that later cells type-check against', () => {
      expect(error('exports')).toBeUndefined();
      expect(result('exports')).toBe('38');
    });

    it(suite.streamsLive ? 'streams stdout while the invocation runs' : 'brings stdout back in order', () => {
      expect(stream('stream')).toBe('first line\nsecond line\n');
      expect(result('stream')).toBe("'streamed'");
      const messages = cell('stream').metadata.jsl_messages ?? [];
      const first = messages.find(([type, name]) => type === 'stream' && name === 'stdout');
      const end = messages.find(([type]) => type === 'execute_result');
      expect(first).toBeDefined();
      expect(end).toBeDefined();
      const gap = (end?.[2] ?? 0) - (first?.[2] ?? 0);
      if (suite.streamsLive) {
        // The body sleeps 1.5 s between the lines: the first arrives well before the end.
        expect(gap).toBeGreaterThan(1.0);
      } else {
        // Returned with the result, before it.
        expect(gap).toBeGreaterThanOrEqual(0);
      }
    });

    it('brings display data back', () => {
      const display = outputs('display').find((o) => o.output_type === 'display_data');
      expect(text(display?.data?.['text/html'])).toBe('<b>from an invocation</b>');
    });

    it('clears the cell’s output on display.clear(), and on the next output with { wait: true }', () => {
      // What was shown before each clear is gone; what came after it stays.
      expect(stream('clear')).toBe('progress 2 of 2\n');
      expect(outputs('clear').filter((o) => o.output_type === 'display_data')).toEqual([]);
      expect(result('clear')).toBe("'cleared'");
      const cleared = (cell('clear').metadata.jsl_messages ?? []).filter(([type]) => type === 'clear_output');
      expect(cleared).toHaveLength(2);
    });

    it('shows a thrown non-Error as an ordinary cell does', () => {
      expect(error('throw-object')).toMatchObject({ ename: 'Uncaught', evalue: '{ a: 1 }' });
      expect(error('throw-object')?.traceback?.[0]).toBe('Uncaught { a: 1 }');
    });

    it('reports a remote error at the cell line that threw', () => {
      const failure = error('remote-error');
      expect(failure).toMatchObject({ ename: 'RangeError', evalue: 'too big: 1' });
      // Line 1 is the magic; `throw` is on line 4 of the cell.
      expect(failure?.traceback?.join('\n')).toMatch(/<cell>:4:\d+/);
    });
  });

  describe('--map', () => {
    it('runs 100 elements and returns results in input order (also bound by --out)', () => {
      expect(error('map')).toBeUndefined();
      const shown = result('map');
      expect(shown.replace(/\s+/g, '')).toBe(`[${Array.from({ length: 100 }, (_, i) => i * i).join(',')}]`);
      expect(result('map-check')).toBe('true');
    });

    it('takes an expression as written, spaces and brackets included', () => {
      expect(error('map-literal')).toBeUndefined();
      expect(result('map-literal')).toBe('[ 10, 20, 30, 40 ]');
    });

    it('without --as, refuses a body that never uses item before invoking anything', () => {
      expect(error('map-no-as')).toMatchObject({ ename: 'MagicUsageError' });
      expect(error('map-no-as')?.evalue).toMatch(/Name the element with --as NAME/);
      expect(outputs('map-no-as').some((o) => o.output_type === 'display_data')).toBe(false);
    });

    it('shows a progress bar updated in place', () => {
      const bar = outputs('map').find((o) => o.output_type === 'display_data');
      expect(text(bar?.data?.['text/plain'])).toMatch(/100\/100 done, 0 running/);
      const updates = (cell('map').metadata.jsl_messages ?? []).filter(
        ([type]) => type === 'update_display_data',
      );
      expect(updates.length).toBeGreaterThan(0);
    });

    it('lists failed elements, and %serverless retry re-runs only those', () => {
      expect(error('map-fail')).toMatchObject({ ename: 'MapFailedError' });
      expect(error('map-fail')?.evalue).toMatch(/^3 of 10 elements failed \(index 1, 5, 9\)/);
      expect(stream('map-fail', 'stderr')).toMatch(/\[5\] Error: element 5 is not ready/);
      expect(error('retry')).toBeUndefined();
      expect(result('retry')).toBe('[\n   0, 10, 20, 30, 40,\n  50, 60, 70, 80, 90\n]');
      const bar = outputs('retry').find((o) => o.output_type === 'display_data');
      expect(text(bar?.data?.['text/plain'])).toMatch(/3\/3 done/);
      expect(result('retry-check')).toBe(result('retry'));
    });

    it('is cancelled by an interrupt within a second', () => {
      const failure = error('interrupt');
      expect(failure?.ename).toBe('Interrupted');
      const messages = cell('interrupt').metadata.jsl_messages ?? [];
      const errorAt = messages.find(([type]) => type === 'error')?.[2] ?? Infinity;
      // nbclient interrupts after 4 s; the cell must end within ~1 s of that.
      expect(errorAt).toBeLessThan(4 + 1.5);
      expect(stream('status')).toMatch(/0 running, 0 queued/);
    });
  });

  describe('limits', () => {
    it('--timeout kills an endless loop', () => {
      expect(error('timeout')).toMatchObject({ ename: 'InvocationTimeout' });
      expect(error('timeout')?.evalue).toMatch(/timed out after 1\.00 seconds/);
    });

    it('--memory kills an allocation over the limit', () => {
      expect(error('memory')).toMatchObject({ ename: 'OutOfMemory' });
      expect(error('memory')?.evalue).toMatch(/128 MB/);
    });
  });

  describe('bad input', () => {
    it('--help prints every option', () => {
      const help = stream('help');
      for (const option of CELL_MAGIC_OPTIONS) {
        expect(help).toContain(option);
      }
    });

    it('a misspelled option names it and lists the valid ones', () => {
      const failure = error('misspelled');
      expect(failure?.ename).toBe('MagicUsageError');
      expect(failure?.evalue).toContain("'--memroy'");
      expect(failure?.evalue).toContain('--memory <MB>');
    });

    it('an unserializable capture names the variable before invoking', () => {
      const failure = error('unserializable');
      expect(failure?.ename).toBe('CaptureError');
      expect(failure?.evalue).toMatch(/'registry'.*WeakMap/);
    });

    it('--dry-run estimates and invokes nothing', () => {
      expect(stream('dry-run')).toMatch(/Estimate: 100 invocations x 2048 MB/);
      expect(stream('dry-run')).toContain('Nothing was invoked');
      expect(outputs('dry-run').some((o) => o.output_type === 'display_data')).toBe(false);
    });

    it('--budget refuses a run estimated over it', () => {
      const failure = error('budget');
      expect(failure?.ename).toBe('BudgetExceededError');
      expect(failure?.evalue).toContain('Nothing was invoked');
    });
  });

  describe('line magics', () => {
    it('%serverless cost shows totals per run and for the kernel', () => {
      const report = outputs('cost').find((o) => o.output_type === 'display_data');
      const plain = text(report?.data?.['text/plain']);
      expect(plain).toMatch(/us-east-1/);
      expect(plain).toMatch(/--map ids --as n --out squares/);
      expect(text(report?.data?.['text/html'])).toContain('<table');
    });

    it('the kernel is still alive afterwards', () => {
      expect(result('alive')).toBe("'still alive'");
    });
  });

  describe('isolation', () => {
    it("workers do not see the kernel's environment (secrets stay in the kernel)", () => {
      expect(result('clean-env')).toBe("'absent'");
    });
  });
}

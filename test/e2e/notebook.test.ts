/**
 * A notebook run headlessly by nbconvert/nbclient (as CI systems and
 * papermill users run notebooks): execution counts, results, streams,
 * displays, errors with tracebacks, and --allow-errors semantics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { kernelEnvironment } from '../helpers/jupyter-server';
import { REPO_ROOT } from '../helpers/paths';
import { joinText as join, NotebookCell as Cell } from '../helpers/nbformat';

const NOTEBOOK = path.join(REPO_ROOT, 'test', 'notebooks', 'kernel-basics.ipynb');
/** nbformat may store a MIME value as a list of lines; join them back. */
const bundle = (data: Record<string, unknown> | undefined): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([mime, value]) => [mime, Array.isArray(value) ? value.join('') : value]),
  );

/** Executes a notebook with nbconvert into a temp dir; returns its code cells. */
function runNotebook(
  allowErrors: boolean,
  notebook = NOTEBOOK,
): { status: number | null; stderr: string; cells: Cell[] } {
  const { env, home } = kernelEnvironment();
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-nb-'));
  try {
    const result = spawnSync(
      '/usr/bin/jupyter',
      [
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        ...(allowErrors ? ['--allow-errors'] : []),
        '--ExecutePreprocessor.timeout=120',
        '--output-dir',
        outDir,
        notebook,
      ],
      { env, encoding: 'utf8', timeout: 180000 },
    );
    let cells: Cell[] = [];
    try {
      const written = path.join(outDir, path.basename(notebook));
      cells = (JSON.parse(readFileSync(written, 'utf8')) as { cells: Cell[] }).cells;
    } catch {
      // No output notebook (the run failed): cells stay empty.
    }
    return {
      status: result.status,
      stderr: result.stderr,
      cells: cells.filter((c) => c.cell_type === 'code'),
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

describe('notebook run with --allow-errors', () => {
  let cells: Cell[];

  beforeAll(() => {
    const run = runNotebook(true);
    expect(run.stderr).not.toMatch(/Traceback \(most recent call last\)/);
    expect(run.status).toBe(0);
    cells = run.cells;
  });

  it('numbers every cell in order', () => {
    expect(cells.map((c) => c.execution_count)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('shows the last expression as execute_result', () => {
    const outputs = cells[0].outputs ?? [];
    expect(outputs.map((o) => [o.output_type, o.execution_count, bundle(o.data)])).toEqual([
      ['execute_result', 1, { 'text/plain': '5' }],
    ]);
  });

  it('streams stdout and stderr', () => {
    const outputs = cells[1].outputs ?? [];
    expect(outputs.map((o) => [o.name, join(o.text)])).toEqual([
      ['stdout', 'line one\n'],
      ['stderr', 'line two\n'],
    ]);
  });

  it('keeps display data', () => {
    const data = (cells[2].outputs ?? []).map((o) => [o.output_type, bundle(o.data)]);
    expect(data).toEqual([
      ['display_data', { 'text/html': '<b>bold</b>' }],
      ['display_data', { 'text/markdown': '**markdown**' }],
    ]);
  });

  it('records errors with name, value and a traceback', () => {
    const [error] = cells[3].outputs ?? [];
    expect(error).toMatchObject({ output_type: 'error', ename: 'TypeError', evalue: 'bad thing' });
    expect(error.traceback?.[0]).toBe('TypeError: bad thing');
    expect(error.traceback?.some((line) => line.includes('at fail'))).toBe(true);
  });

  it('runs the cells after an error', () => {
    expect(bundle(cells[4].outputs?.[0].data)).toEqual({ 'text/plain': "'hello again'" });
    expect(bundle(cells[6].outputs?.[0].data)).toEqual({ 'text/plain': '6' });
  });

  it('reports type errors as CompileError with the cell position', () => {
    const [error] = cells[5].outputs ?? [];
    expect(error).toMatchObject({ output_type: 'error', ename: 'CompileError' });
    expect(error.evalue).toMatch(/^1:7 - Type 'string' is not assignable to type 'number'/);
  });
});

describe('notebook run without --allow-errors', () => {
  it('stops at the first error and fails with its name', () => {
    const run = runNotebook(false);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('TypeError');
    expect(run.stderr).toContain('bad thing');
  });
});

/**
 * Binder: the demo notebooks in binder/ run headlessly (nbclient, the kernel
 * installed in a temporary prefix) on the embedded runtime (training.ipynb
 * trains real tfjs models on worker processes), and
 * binder/postBuild installs the prebuilt extension and the kernelspec into a
 * prefix (JSL_PREFIX, a temporary dir here) where Jupyter finds both.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { kernelEnvironment } from '../helpers/jupyter-server';
import { KERNEL_CLI, REPO_ROOT, SYSTEM_PYTHON } from '../helpers/paths';
import { joinText as text, NotebookCell as Cell, NotebookOutput as Output } from '../helpers/nbformat';

interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: Record<string, string>; language_info?: { name?: string } };
}
interface Run {
  name: string;
  committed: Notebook;
  executed: Notebook;
  stderr: string;
}

const BINDER = path.join(REPO_ROOT, 'binder');
const DRIVER = path.join(REPO_ROOT, 'test', 'notebooks', 'execute_timed.py');
const NOTEBOOKS = readdirSync(BINDER)
  .filter((name) => name.endsWith('.ipynb'))
  .sort();
/** How long a notebook may run, ms: training.ipynb trains for a minute or more on 2 shared cores. */
const RUN_LIMIT_MS: Record<string, number> = { 'training.ipynb': 300_000 };
const DEFAULT_RUN_LIMIT_MS = 120_000;
const runLimit = (name: string): number => RUN_LIMIT_MS[name] ?? DEFAULT_RUN_LIMIT_MS;
/** Every notebook's run, and the kernelspec install before them. */
const ALL_RUNS_MS = NOTEBOOKS.reduce((sum, name) => sum + runLimit(name), 30_000);

const compact = (value: string): string => value.replace(/\s+/g, '');
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('the demo notebooks in binder/', () => {
  const runs: Run[] = [];

  beforeAll(() => {
    const { env, home } = kernelEnvironment();
    const workdir = path.join(home, 'notebooks');
    mkdirSync(workdir, { recursive: true });
    try {
      for (const name of NOTEBOOKS) {
        const executedFile = path.join(home, `executed-${name}`);
        const run = spawnSync(SYSTEM_PYTHON, [DRIVER, path.join(BINDER, name), executedFile, workdir], {
          // The exchange cell's store and the training checkpoints in this run's directory, not the user's home.
          env: { ...env, SERVERLESS_STORE: path.join(home, 'store') },
          encoding: 'utf8',
          timeout: runLimit(name),
        });
        if (!existsSync(executedFile)) {
          throw new Error(`${name} did not run (exit ${run.status ?? run.signal}):\n${run.stderr}`);
        }
        runs.push({
          name,
          committed: readJson<Notebook>(path.join(BINDER, name)),
          executed: readJson<Notebook>(executedFile),
          stderr: run.stderr,
        });
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, ALL_RUNS_MS);

  const codeCells = (): Cell[] =>
    runs.flatMap((run) => run.executed.cells.filter((cell) => cell.cell_type === 'code'));
  /** The first executed code cell whose source matches. */
  const cell = (source: RegExp): Cell => {
    const found = codeCells().find((c) => source.test(text(c.source)));
    if (!found) {
      throw new Error(`no code cell in binder/*.ipynb matches ${source}`);
    }
    return found;
  };
  const outputs = (c: Cell, type: string): Output[] =>
    (c.outputs ?? []).filter((o) => o.output_type === type);
  const result = (c: Cell): string => text(outputs(c, 'execute_result')[0]?.data?.['text/plain']);
  const stdout = (c: Cell): string =>
    outputs(c, 'stream')
      .filter((o) => o.name === 'stdout')
      .map((o) => text(o.text))
      .join('');
  const display = (c: Cell, mime: string): string => text(outputs(c, 'display_data')[0]?.data?.[mime]);

  it('include demo.ipynb, on the serverless-ts kernel, with no outputs committed', () => {
    expect(NOTEBOOKS).toContain('demo.ipynb');
    for (const { name, committed } of runs) {
      expect([name, committed.metadata.kernelspec]).toEqual([
        name,
        { name: 'serverless-ts', display_name: 'TypeScript (serverless)', language: 'typescript' },
      ]);
      expect([name, committed.metadata.language_info?.name]).toEqual([name, 'typescript']);
      const dirty = committed.cells.filter(
        (c) => c.cell_type === 'code' && ((c.outputs ?? []).length > 0 || c.execution_count != null),
      );
      expect([name, dirty.map((c) => text(c.source).split('\n')[0])]).toEqual([name, []]);
    }
  });

  it('run every cell, with no error', () => {
    expect(runs.map((run) => run.name)).toEqual(NOTEBOOKS);
    for (const run of runs) {
      expect(run.stderr).not.toMatch(/Traceback \(most recent call last\)/);
      const cells = run.executed.cells.filter((c) => c.cell_type === 'code');
      expect(cells.length).toBeGreaterThan(0);
      expect(cells.every((c) => typeof c.execution_count === 'number')).toBe(true);
      const errors = cells.flatMap((c) =>
        outputs(c, 'error').map(
          (o) => `${run.name}: ${text(c.source).split('\n')[0]}: ${o.ename}: ${o.evalue}`,
        ),
      );
      expect(errors).toEqual([]);
    }
  });

  it('a first %%serverless cell: a captured variable in, a value and a kernel variable out', () => {
    const first = cell(/^%%serverless --memory 512\n/);
    expect(result(first)).toBe("'Cairo'");
    expect(stdout(first)).toMatch(/^ran in process \d+, not in the kernel \(512 MB\)\n$/);
    expect(result(cell(/^warmest$/))).toBe("{ city: 'Cairo', celsius: 27 }");
  });

  it('a --map fan-out: the results in input order, a progress bar updated in place', () => {
    const map = cell(/^%%serverless --map .* --out primes\n/);
    const isPrime = (k: number): boolean => k > 1 && [...Array(k).keys()].slice(2).every((d) => k % d !== 0);
    const expected = Array.from({ length: 40 }, (_, i) => (isPrime(i + 1) ? i + 1 : null));
    expect(compact(result(map))).toBe(JSON.stringify(expected));
    expect(display(map, 'text/plain')).toMatch(/40\/40 done, 0 running, .*\$\d/);
    expect(display(map, 'text/html')).toContain('jp-serverless-Progress');
    const updates = (map.metadata.jsl_messages ?? []).filter(([type]) => type === 'update_display_data');
    expect(updates.length).toBeGreaterThan(0);
    expect(compact(result(cell(/^primes\.filter/)))).toBe(JSON.stringify(expected.filter((p) => p !== null)));
  });

  it('workers exchanging: a 4-worker scatter-reduce with top-k, every worker getting the same mean', () => {
    const exchanged = cell(/^%%serverless --map \[0, 1, 2, 3\] --as rank/);
    const means = result(exchanged);
    // Four results, one per worker, all the same three floats.
    const rows = means.match(/Float32Array\(3\) \[[^\]]*\]/g) ?? [];
    expect(rows).toHaveLength(4);
    expect(new Set(rows).size).toBe(1);
    expect(display(exchanged, 'text/plain')).toMatch(/4\/4 done, 0 running/);
  });

  it('the cost: %serverless cost with dollar amounts, a --dry-run estimate, the side panel explained', () => {
    const cost = cell(/^%serverless cost$/);
    expect(display(cost, 'text/plain')).toMatch(/Kernel total: \$\d+\.\d+ .* over 45 invocations\./);
    expect(display(cost, 'text/plain')).toMatch(/AWS Lambda prices, us-east-1/);
    expect(display(cost, 'text/html')).toContain('<table');
    const estimate = stdout(cell(/^%%serverless --dry-run /));
    expect(estimate).toMatch(
      /^Estimate: 10000 invocations x 1024 MB, .* \$\d+\.\d+ \(measured: median [\d.]+ ms over \d+ earlier invocations? of this body/,
    );
    expect(estimate).toContain('Nothing was invoked');
    const markdown = runs.flatMap((run) =>
      run.executed.cells.filter((c) => c.cell_type === 'markdown').map((c) => text(c.source)),
    );
    expect(
      markdown.some(
        (md) => /Serverless\*\* side panel/.test(md) && /lambda\) icon/.test(md) && /\*\*Cost\*\*/.test(md),
      ),
    ).toBe(true);
  });

  describe('binder/training.ipynb', () => {
    let run: Run | undefined;

    beforeAll(() => {
      run = runs.find((r) => r.name === 'training.ipynb');
    });

    /** The executed code cell tagged `tag` (cells of the training notebook carry tags for this). */
    const tagged = (tag: string): Cell => {
      const found = run?.executed.cells.find(
        (c) => c.cell_type === 'code' && (c.metadata.tags ?? []).includes(tag),
      );
      if (!found) {
        throw new Error(`no code cell tagged ${tag} in the executed training.ipynb`);
      }
      return found;
    };
    /** The rows of the Markdown tables a cell displayed, each as its trimmed cells, header and rule left out. */
    const tableRows = (c: Cell): string[][] =>
      (c.outputs ?? [])
        .filter((o) => o.output_type === 'display_data' && o.data?.['text/markdown'] !== undefined)
        .flatMap((o) => text(o.data?.['text/markdown']).split('\n'))
        .filter((line) => line.startsWith('|') && !/^\|[\s:|-]+\|$/.test(line))
        .map((line) =>
          line
            .split('|')
            .slice(1, -1)
            .map((cell) => cell.trim()),
        )
        .filter(
          (cells) => !cells.includes('epoch') && !cells.includes('strategy') && !cells.includes('version'),
        );

    it('is in binder/ and ran', () => {
      expect(run?.name).toBe('training.ipynb');
    });

    it('loads 8,000 training and 2,000 test digits and draws some', () => {
      expect(stdout(tagged('training-data'))).toContain(
        'training set: images [8000, 784], labels [8000, 10]',
      );
      expect(stdout(tagged('training-data'))).toContain('images [2000, 784], labels [2000, 10]');
      const svg = text(
        (tagged('training-digits').outputs ?? []).find((o) => o.output_type === 'display_data')?.data?.[
          'image/svg+xml'
        ],
      );
      expect(svg.match(/<text /g)).toHaveLength(12);
      expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(12 * 50);
    });

    it('trains the MLP on 4 workers to at least 90% test accuracy, with a row per epoch', () => {
      const mlp = tagged('training-mlp');
      const accuracy = /test accuracy after 3 epochs: (\d\.\d+)/.exec(stdout(mlp));
      expect(accuracy).not.toBeNull();
      expect(Number(accuracy?.[1])).toBeGreaterThanOrEqual(0.9);
      const rows = tableRows(mlp);
      expect(rows.map((row) => row[0])).toEqual(['1', '2', '3']);
      // The last row's test accuracy is the figure printed.
      expect(rows[2][4]).toBe(accuracy?.[1]);
      // train()'s own live display, updated in place.
      const live = (mlp.outputs ?? []).find((o) => o.output_type === 'display_data' && o.data?.['text/html']);
      expect(text(live?.data?.['text/plain'])).toMatch(/train 'mnist-mlp': 4 workers · \d+ MB · allreduce/);
      expect((mlp.metadata.jsl_messages ?? []).some(([type]) => type === 'update_display_data')).toBe(true);
    });

    it('trains one epoch with each strategy and codec; top-k moves far fewer bytes than none', () => {
      const compare = tagged('training-compare');
      const lines = [
        ...stdout(compare).matchAll(
          /^(\S+) \/ (\S+): (\d+) epochs?, ([\d.]+) MB exchanged, \$([\d.]+), test accuracy (\d\.\d+)$/gm,
        ),
      ];
      const runsBy = new Map(
        lines.map(([, strategy, codec, epochs, mb, usd, accuracy]) => [
          `${strategy}/${codec}`,
          { epochs: Number(epochs), mb: Number(mb), usd: Number(usd), accuracy: Number(accuracy) },
        ]),
      );
      expect([...runsBy.keys()]).toEqual([
        'allreduce/none',
        'scatter-reduce/none',
        'allreduce/fp16',
        'allreduce/topk:0.01',
        'parameter-server/none',
      ]);
      for (const [setup, figures] of runsBy) {
        expect([setup, figures.epochs]).toEqual([setup, 1]);
        expect([setup, figures.mb > 0, figures.usd > 0, figures.accuracy > 0.7]).toEqual([
          setup,
          true,
          true,
          true,
        ]);
      }
      const none = runsBy.get('allreduce/none')?.mb ?? 0;
      expect(runsBy.get('allreduce/topk:0.01')?.mb).toBeLessThan(none / 20);
      expect(runsBy.get('allreduce/fp16')?.mb).toBeCloseTo(none / 2, 0);
      // The same five, as a table.
      expect(tableRows(compare).map((row) => `${row[0]}/${row[1]}`)).toEqual([...runsBy.keys()]);
    });

    it("lists the MLP's checkpoints: the starting model and one per epoch", () => {
      const versions = tableRows(tagged('training-checkpoints'));
      expect(versions.map((row) => [row[0], row[1]])).toEqual([
        ['mnist-mlp', '1'],
        ['mnist-mlp', '2'],
        ['mnist-mlp', '3'],
        ['mnist-mlp', '4'],
      ]);
    });

    it('resumes from the checkpoint: the history starts with the 3 earlier epochs, then 2 new ones', () => {
      const earlier = tableRows(tagged('training-mlp')).map((row) => ({
        epoch: row[0],
        loss: row[1],
        accuracy: row[4],
      }));
      const resumed = [
        ...stdout(tagged('training-resume')).matchAll(
          /^epoch (\d+): loss ([\d.]+), test accuracy (\d\.\d+)$/gm,
        ),
      ].map(([, epoch, loss, accuracy]) => ({ epoch, loss, accuracy }));
      expect(resumed.map((row) => row.epoch)).toEqual(['1', '2', '3', '4', '5']);
      expect(resumed.slice(0, 3)).toEqual(earlier);
      // Epochs 4 and 5 were trained now, from epoch 3's weights: two more checkpoint versions.
      expect(stdout(tagged('training-resume'))).toContain("checkpoint: 'mnist-mlp' version 6");
      expect(Number(resumed[4].loss)).toBeLessThan(Number(resumed[2].loss));
    });

    it('trains a small CNN on the wasm backend, its loss falling', () => {
      const losses = /CNN training loss by epoch: ([\d.]+) -> ([\d.]+)/.exec(stdout(tagged('training-cnn')));
      expect(losses).not.toBeNull();
      expect(Number(losses?.[2])).toBeLessThan(Number(losses?.[1]));
    });

    it("stops at the budget, with stopped === 'budget' and a checkpoint", () => {
      const budget =
        /stopped: (\w+), after (\d+) of 10 epochs, .* checkpoint 'mnist-mlp-budget' version (\d+)/.exec(
          stdout(tagged('training-budget')),
        );
      expect(budget?.[1]).toBe('budget');
      const epochs = Number(budget?.[2]);
      expect(epochs).toBeGreaterThanOrEqual(2);
      expect(epochs).toBeLessThan(10);
      expect(Number(budget?.[3])).toBe(epochs + 1);
    });

    it("reports each epoch's own figures: the budget run, one segment per epoch, repeats the MLP's epochs", () => {
      // Same seeds, same data: the same training. The MLP ran its 3 epochs in one segment, the budget
      // run each epoch in a segment of its own, so a row that mixed in earlier epochs would differ.
      const figures = (row: string[]): string[] => row.slice(0, 5);
      const budgetRows = tableRows(tagged('training-budget')).map(figures);
      const mlpRows = tableRows(tagged('training-mlp')).map(figures);
      expect(budgetRows.length).toBeGreaterThanOrEqual(2);
      expect(budgetRows.slice(0, 3)).toEqual(mlpRows.slice(0, budgetRows.length));
    });

    it("adds the MLP's epoch costs up to what its run was billed, less the workers' setup and requests", () => {
      const usd = (value: string): number => Number(value.replace('$', ''));
      const epochs = tableRows(tagged('training-mlp')).reduce((sum, row) => sum + usd(row[6]), 0);
      const report = text(
        (tagged('training-cost').outputs ?? []).find((o) => o.output_type === 'display_data')?.data?.[
          'text/plain'
        ],
      );
      const line = report.split('\n').find((l) => l.startsWith("train('mnist-mlp') epochs 1-3 "));
      const billed = usd(line?.match(/\$[\d.]+/g)?.at(-1) ?? 'NaN');
      expect(billed).toBeGreaterThan(0);
      // Rounded figures on both sides: 2% of slack. The epochs count what each worker's invocation was
      // billed for on its own clock; the bill adds each worker's setup (loading tfjs, its shard, the
      // model), its INIT and its request, never more than half of it here.
      expect(epochs).toBeLessThanOrEqual(billed * 1.02);
      expect(epochs).toBeGreaterThan(billed * 0.5);
    });

    it('explains the panel: its Training chart and Gradient traffic view', () => {
      const markdown = (run?.committed.cells ?? [])
        .filter((c) => c.cell_type === 'markdown')
        .map((c) => text(c.source));
      expect(
        markdown.some(
          (md) =>
            /Serverless\*\* side panel/.test(md) &&
            /\*\*Training\*\*/.test(md) &&
            /\*\*Gradient traffic\*\*/.test(md),
        ),
      ).toBe(true);
    });
  });
});

describe('binder/postBuild', () => {
  let tmp = '';
  let prefix = '';
  let build: { status: number | null; output: string };
  const labextension = (): string =>
    path.join(prefix, 'share', 'jupyter', 'labextensions', 'jupyterlab-serverless');
  const kernelspec = (): string => path.join(prefix, 'share', 'jupyter', 'kernels', 'serverless-ts');

  beforeAll(() => {
    // The test must not reinstall node_modules under other work (postBuild would run npm ci).
    const stamp = path.join(REPO_ROOT, 'node_modules', '.package-lock.json');
    const lock = path.join(REPO_ROOT, 'package-lock.json');
    if (!existsSync(stamp) || statSync(lock).mtimeMs > statSync(stamp).mtimeMs) {
      throw new Error('node_modules is older than package-lock.json: run `npm ci` (or `npm test`) first');
    }
    tmp = mkdtempSync(path.join(os.tmpdir(), 'jsl-binder-'));
    prefix = path.join(tmp, 'prefix');
    const run = spawnSync('bash', [path.join(BINDER, 'postBuild')], {
      cwd: os.tmpdir(), // postBuild finds the repository from its own path
      env: { ...process.env, JSL_PREFIX: prefix },
      encoding: 'utf8',
      timeout: 120_000,
    });
    build = { status: run.status, output: `${run.stdout}${run.stderr}` };
  }, 130_000);

  afterAll(() => {
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('runs, skipping npm ci because node_modules is current', () => {
    expect([build.status, build.output]).toEqual([0, expect.stringContaining('postBuild:')]);
    expect(build.output).toContain('node_modules is current, npm ci skipped');
    expect(build.output).not.toContain('installing npm packages');
  });

  it('copies the prebuilt extension into <prefix>/share/jupyter/labextensions', () => {
    expect(lstatSync(labextension()).isDirectory()).toBe(true); // a copy, not a link into the repository
    const built = readJson<{ name: string; version: string; jupyterlab: { _build: { load: string } } }>(
      path.join(labextension(), 'package.json'),
    );
    const source = readJson<{ version: string }>(path.join(REPO_ROOT, 'extension', 'package.json'));
    expect([built.name, built.version]).toEqual(['jupyterlab-serverless', source.version]);
    expect(built.jupyterlab._build.load).toMatch(/^static\/remoteEntry\.[0-9a-f]+\.js$/);
    expect(statSync(path.join(labextension(), built.jupyterlab._build.load)).size).toBeGreaterThan(0);
    expect(existsSync(path.join(labextension(), 'schemas', 'jupyterlab-serverless', 'telemetry.json'))).toBe(
      true,
    );
  });

  it('installs the serverless-ts kernelspec into <prefix>/share/jupyter/kernels', () => {
    const spec = readJson<{ argv: string[]; display_name: string; language: string }>(
      path.join(kernelspec(), 'kernel.json'),
    );
    expect([spec.display_name, spec.language]).toEqual(['TypeScript (serverless)', 'typescript']);
    expect(spec.argv.slice(2, 4)).toEqual([KERNEL_CLI, 'kernel']);
  });

  it('Jupyter finds both there, and the kernel runs a %%serverless cell', () => {
    const { env, home } = kernelEnvironment();
    try {
      const run = spawnSync(SYSTEM_PYTHON, ['-c', CHECK_PREFIX, path.dirname(labextension())], {
        env: { ...env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect([run.status, run.stderr]).toEqual([0, expect.any(String)]);
      const found = JSON.parse(run.stdout) as {
        kernels: Record<string, { resource_dir: string; display_name: string }>;
        extensions: Record<string, { load: string | null; ext_path: string }>;
        result: string | null;
      };
      expect(found.kernels['serverless-ts']).toEqual({
        resource_dir: kernelspec(),
        display_name: 'TypeScript (serverless)',
      });
      expect(found.extensions['jupyterlab-serverless']).toEqual({
        load: expect.stringMatching(/^static\/remoteEntry\./),
        ext_path: labextension(),
      });
      expect(found.result).toBe('42');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * Python (Debian's jupyter_client and jupyterlab_server): the kernelspecs
 * Jupyter finds, the federated extensions JupyterLab would load from the
 * labextensions dir given as argv[1], and the value of a %%serverless cell
 * run on a kernel started from the found kernelspec.
 */
const CHECK_PREFIX = `
import json, sys
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel
from jupyterlab_server.config import get_federated_extensions

specs = KernelSpecManager().get_all_specs()
extensions = get_federated_extensions([sys.argv[1]])
results = []
km, kc = start_new_kernel(kernel_name='serverless-ts', startup_timeout=30)
try:
    def hook(msg):
        if msg['msg_type'] == 'execute_result':
            results.append(msg['content']['data']['text/plain'])
    kc.execute_interactive('%%serverless\\n6 * 7', timeout=30, output_hook=hook)
finally:
    kc.stop_channels()
    km.shutdown_kernel()
print(json.dumps({
    'kernels': {name: {'resource_dir': s['resource_dir'], 'display_name': s['spec']['display_name']}
                for name, s in specs.items()},
    'extensions': {name: {'load': e['jupyterlab'].get('_build', {}).get('load'), 'ext_path': e['ext_path']}
                   for name, e in extensions.items()},
    'result': results[0] if results else None,
}))
`;

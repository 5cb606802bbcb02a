/**
 * Installing into your own JupyterLab (README, issue 16): `npm run package`
 * builds the wheel and the two npm tarballs; the wheel is installed with pip
 * into a fresh prefix P and the tarballs with npm into a fresh prefix N (no
 * network: see helpers/npm-prefix for why not `npm install --offline
 * <tarballs>`); the kernelspec is installed into P by the installed package's
 * own command. lab/server.py (the jupyterlab Python package does not exist
 * here) then serves JupyterLab with what Jupyter finds through P only: the
 * extension is in the page config and served from P, a notebook on
 * serverless-ts (P's kernelspec, N's kernel) runs a %%serverless cell, and
 * in the browser the side panel draws that cell's invocation. Uninstalling
 * with pip, npm and `serverless-kernel uninstall` leaves no file in either
 * prefix.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KernelManager, ServerConnection, SessionManager } from '@jupyterlab/services';

import { RecordedPage, SCREENSHOT_DIR, startBrowser, TestBrowser } from '../helpers/browser';
import { execute, resultText } from '../helpers/kernel-session';
import { LabServer, serverlessNotebook, startPrefixLab } from '../helpers/lab';
import {
  drawnInvocations,
  openPanel,
  runCell,
  timelineSummary,
  waitForKernel,
  waitForTimelineBars,
} from '../helpers/lab-page';
import { installTarballsOffline, npmIn, Tarball } from '../helpers/npm-prefix';
import { REPO_ROOT, SYSTEM_PYTHON } from '../helpers/paths';
import { runChecked } from '../helpers/processes';

/** What `node scripts/package.mjs --json` prints. */
interface Artifacts {
  npm: Record<string, string>;
  wheel: string;
  sizes: Record<string, number>;
}

const EXTENSION = 'jupyterlab-serverless';
const CELL = '%%serverless\n6 * 7';
const STEP_MS = 60_000;
/** Building, packing and installing, with room for a loaded machine. */
const SETUP_MS = 180_000;

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const extensionVersion = readJson<{ version: string }>(
  path.join(REPO_ROOT, 'extension', 'package.json'),
).version;

/** Runs a command; throws with its output unless it exits 0; returns stdout. */
function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): string {
  return runChecked(command, args, { ...options, timeoutMs: options.timeoutMs ?? STEP_MS });
}

/** Where pip puts a prefix's data files (`share/...`) and pure modules, per this Python's install scheme. */
function pythonPaths(prefix: string): { data: string; purelib: string } {
  const script =
    'import json, sys, sysconfig\n' +
    "paths = sysconfig.get_paths(vars={'base': sys.argv[1], 'platbase': sys.argv[1]})\n" +
    "print(json.dumps({'data': paths['data'], 'purelib': paths['purelib']}))";
  return JSON.parse(run(SYSTEM_PYTHON, ['-c', script, prefix])) as { data: string; purelib: string };
}

/** The entries of an archive: a wheel (zip) through Python's zipfile, a tarball through tar. */
function archiveEntries(file: string): string[] {
  const listing = file.endsWith('.whl')
    ? run(SYSTEM_PYTHON, [
        '-c',
        'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
        file,
      ])
    : run('tar', ['-tzf', file]);
  return listing.split('\n').filter(Boolean);
}

/** Every file and link under `dir`, as relative paths (empty directories are not listed). */
function walk(dir: string): string[] {
  const found: string[] = [];
  const visit = (relative: string): void => {
    const full = path.join(dir, relative);
    if (!lstatSync(full).isDirectory()) {
      found.push(relative);
      return;
    }
    for (const entry of readdirSync(full)) {
      visit(path.join(relative, entry));
    }
  };
  visit('');
  return found.sort();
}

/** The JSON a JupyterLab page carries as its page config. */
async function pageConfig(
  lab: LabServer,
): Promise<{ federated_extensions: { name: string; load: string }[] }> {
  const html = await (await fetch(`${lab.baseUrl}/lab?token=${lab.token}`)).text();
  const json = /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(
    html,
  )?.[1];
  if (!json) {
    throw new Error(`no jupyter-config-data in the page:\n${html.slice(0, 2000)}`);
  }
  return JSON.parse(json) as { federated_extensions: { name: string; load: string }[] };
}

let tmp = '';
let artifacts: Artifacts;
/** The pip prefix P and where its data files are (P/share, or P/local/share with Debian's scheme). */
let pythonPrefix = '';
let pythonData = '';
let pythonPurelib = '';
/** The npm prefix N. */
let npmPrefix = '';
let lab: LabServer | undefined;
let chrome: TestBrowser | undefined;

/** The lab server, once its describe block started it. */
function served(): LabServer {
  if (!lab) {
    throw new Error('the lab server is not running');
  }
  return lab;
}

const jupyterPath = (): string => path.join(pythonData, 'share', 'jupyter');
const installedExtension = (): string => path.join(jupyterPath(), 'labextensions', EXTENSION);
const installedCli = (): string => path.join(npmPrefix, 'node_modules', '.bin', 'serverless-kernel');

beforeAll(() => {
  if (!existsSync(path.join(REPO_ROOT, 'lab', 'build', 'static', 'main.js'))) {
    throw new Error('lab/build is missing: run `npm test` (or `node lab/build.mjs`) first');
  }
  tmp = mkdtempSync(path.join(os.tmpdir(), 'jsl-install-'));
  artifacts = JSON.parse(
    run(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--json', '--out', path.join(tmp, 'dist')],
      {
        timeoutMs: SETUP_MS / 2,
      },
    ),
  ) as Artifacts;

  pythonPrefix = path.join(tmp, 'python-prefix');
  ({ data: pythonData, purelib: pythonPurelib } = pythonPaths(pythonPrefix));
  run(SYSTEM_PYTHON, [
    ...['-m', 'pip', 'install', '--prefix', pythonPrefix, '--no-deps', '--no-index'],
    ...['--disable-pip-version-check', '--no-warn-script-location', artifacts.wheel],
  ]);

  npmPrefix = path.join(tmp, 'npm-prefix');
  const tarballs: Tarball[] = Object.entries(artifacts.npm).map(([name, file]) => ({ name, file }));
  installTarballsOffline(npmPrefix, tarballs, SETUP_MS / 2);
  run(installedCli(), ['install', '--prefix', pythonData]);
}, SETUP_MS);

afterAll(async () => {
  await Promise.allSettled([chrome?.stop(), lab?.stop()]);
  if (tmp) {
    rmSync(tmp, { recursive: true, force: true });
  }
}, STEP_MS);

describe('npm run package', () => {
  it('builds a wheel that holds the prebuilt extension and its install.json, and nothing else', () => {
    expect(path.basename(artifacts.wheel)).toBe(`jupyterlab_serverless-${extensionVersion}-py3-none-any.whl`);
    const entries = archiveEntries(artifacts.wheel);
    const data = `jupyterlab_serverless-${extensionVersion}.data/data/share/jupyter/labextensions/${EXTENSION}/`;
    const info = `jupyterlab_serverless-${extensionVersion}.dist-info/`;
    expect(entries.filter((entry) => !entry.startsWith(data) && !entry.startsWith(info))).toEqual([]);
    const built = readJson<{ jupyterlab: { _build: { load: string } } }>(
      path.join(REPO_ROOT, 'extension', 'labextension', 'package.json'),
    );
    expect(entries).toEqual(
      expect.arrayContaining([
        `${data}package.json`,
        `${data}install.json`,
        `${data}${built.jupyterlab._build.load}`,
        `${data}schemas/${EXTENSION}/telemetry.json`,
      ]),
    );
    // Nothing heavy but the extension: the wheel is about the size of the built extension, compressed.
    expect(artifacts.sizes[path.basename(artifacts.wheel)]).toBeLessThan(4 * 1024 * 1024);
  });

  it("names the wheel's JupyterLab range and the npm package's version in its metadata", () => {
    const metadata = readFileSync(
      path.join(pythonPurelib, `jupyterlab_serverless-${extensionVersion}.dist-info`, 'METADATA'),
      'utf8',
    );
    expect(metadata).toMatch(/^Name: jupyterlab-serverless$/m);
    expect(metadata).toMatch(new RegExp(`^Version: ${extensionVersion.replace(/\./g, '\\.')}$`, 'm'));
    expect(metadata).toMatch(/^Requires-Dist: jupyterlab<5,>=4\.\d+\.\d+$/m);
  });

  it('packs serverless-kernel with its command, its exports, the runtime files it loads, and no sources or maps', () => {
    const entries = archiveEntries(artifacts.npm['serverless-kernel']).map((entry) =>
      entry.replace(/^package\//, ''),
    );
    const manifest = readJson<{
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    }>(path.join(REPO_ROOT, 'kernel-magics', 'package.json'));
    const exported = Object.values(manifest.exports).flatMap((target) =>
      typeof target === 'string' ? [target] : Object.values(target),
    );
    expect(entries).toEqual(
      expect.arrayContaining(
        [
          ...exported,
          ...Object.values(manifest.bin),
          'dist/bin/serverless-kernel.js',
          // Loaded at run time by path: the environments' worker, the kernel's I/O thread, the Lambda runner.
          'dist/src/runtime/local/worker.bundle.js',
          'dist/src/kernel/io-thread.js',
          'lambda/dist/handler.js',
          'lambda/serverless.yml',
          'kernelspec/logo-64x64.png',
        ].map((file) => file.replace(/^\.\//, '')),
      ),
    );
    const unwanted = entries.filter(
      (entry) =>
        /\.map$|\.tsbuildinfo$|(^|\/)test\/|\.test\.|^src\/|^bin\/|^scripts\//.test(entry) ||
        (entry.endsWith('.ts') && !entry.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  it('packs jupyterlab-serverless with its JS, types, schema and styles, and no sources or maps', () => {
    const entries = archiveEntries(artifacts.npm[EXTENSION]).map((entry) => entry.replace(/^package\//, ''));
    const styles = readdirSync(path.join(REPO_ROOT, 'style')).map((file) => `style/${file}`);
    expect(entries).toEqual(
      expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'schema/telemetry.json', ...styles]),
    );
    const unwanted = entries.filter(
      (entry) =>
        /\.map$|\.tsbuildinfo$|^src\/|^labextension\/|install\.json$|pyproject\.toml$/.test(entry) ||
        (entry.endsWith('.ts') && !entry.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });
});

describe('installed into fresh prefixes', () => {
  it("puts the kernelspec into P, running the kernel from N's package", () => {
    const spec = readJson<{ argv: string[] }>(
      path.join(jupyterPath(), 'kernels', 'serverless-ts', 'kernel.json'),
    );
    expect(spec.argv[2]).toBe(
      path.join(npmPrefix, 'node_modules', 'serverless-kernel', 'dist', 'bin', 'serverless-kernel.js'),
    );
  });

  describe('JupyterLab served with what Jupyter finds in P', () => {
    beforeAll(async () => {
      lab = await startPrefixLab(jupyterPath(), {
        'api.ipynb': serverlessNotebook([CELL]),
        'panel.ipynb': serverlessNotebook([CELL]),
      });
    }, STEP_MS);

    it('lists the extension in the page config, served from P, not from the repository', async () => {
      const config = await pageConfig(served());
      const built = readJson<{ jupyterlab: { _build: { load: string } } }>(
        path.join(installedExtension(), 'package.json'),
      );
      expect(config.federated_extensions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: EXTENSION, load: built.jupyterlab._build.load }),
        ]),
      );
      // The server looks in the Jupyter data path only, P's first; lab/labextensions is not in it.
      const searched =
        /Prebuilt extensions from: (.*)/.exec(served().log())?.[1]?.split(path.delimiter) ?? [];
      expect(searched[0]).toBe(path.join(jupyterPath(), 'labextensions'));
      expect(searched).not.toContain(path.join(REPO_ROOT, 'lab', 'labextensions'));
      // install.json is only in the wheel's copy: the one served is P's.
      const { baseUrl, token } = served();
      const installJson = await fetch(`${baseUrl}/lab/extensions/${EXTENSION}/install.json?token=${token}`);
      expect(await installJson.json()).toEqual(readJson(path.join(REPO_ROOT, 'extension', 'install.json')));
    });

    it(
      "runs a notebook's %%serverless cell on serverless-ts, P's kernelspec starting N's kernel",
      async () => {
        const { baseUrl, token } = served();
        const serverSettings = ServerConnection.makeSettings({
          baseUrl: `${baseUrl}/`,
          wsUrl: `${baseUrl.replace(/^http/, 'ws')}/`,
          token,
          appendToken: true,
        });
        const specs = (await (
          await ServerConnection.makeRequest(`${serverSettings.baseUrl}api/kernelspecs`, {}, serverSettings)
        ).json()) as {
          kernelspecs: Record<string, { spec: { argv: string[] } }>;
        };
        expect(specs.kernelspecs['serverless-ts'].spec.argv[2]).toContain(npmPrefix);
        const kernels = new KernelManager({ serverSettings });
        const sessions = new SessionManager({ kernelManager: kernels, serverSettings });
        try {
          const session = await sessions.startNew({
            path: 'api.ipynb',
            name: 'api.ipynb',
            type: 'notebook',
            kernel: { name: 'serverless-ts' },
          });
          const kernel = session.kernel;
          if (!kernel) {
            throw new Error('the session has no kernel');
          }
          expect(resultText(await execute(kernel, CELL, { timeoutMs: STEP_MS }))).toBe('42');
          await session.shutdown();
        } finally {
          sessions.dispose();
          kernels.dispose();
        }
      },
      STEP_MS,
    );

    describe('in the browser', () => {
      let recorded: RecordedPage;

      beforeAll(async () => {
        chrome = await startBrowser();
        recorded = await chrome.newPage();
        recorded.page.setDefaultTimeout(STEP_MS);
      }, STEP_MS);

      it(
        "draws the cell's invocation in the side panel",
        async () => {
          const { page } = recorded;
          await page.goto(served().notebookUrl('panel.ipynb', randomUUID()));
          await waitForKernel(page, 'Idle');
          const cell = await runCell(page, 0);
          await cell.locator('.jp-OutputArea-output', { hasText: '42' }).waitFor();
          await openPanel(page);
          await timelineSummary(page)
            .filter({ hasText: /^1 invocation · 1 run · 1 environment · 1 cold start$/ })
            .waitFor();
          await waitForTimelineBars(page);
          expect((await drawnInvocations(page)).done).toHaveLength(1);
          await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'installed-panel.png') });
          expect(recorded.errors).toEqual([]);
        },
        2 * STEP_MS,
      );
    });
  });

  describe('uninstalled', () => {
    beforeAll(async () => {
      await Promise.allSettled([chrome?.stop(), lab?.stop()]);
      chrome = undefined;
      lab = undefined;
      run(installedCli(), ['uninstall', '--prefix', pythonData]);
      // pip uninstall has no --prefix: the prefix's modules on PYTHONPATH make the package
      // visible to it. Debian marks its own Python externally managed (PEP 668), which pip
      // honours even for a package outside it: --break-system-packages, whose only target here
      // is that package, in the temporary prefix.
      run(
        SYSTEM_PYTHON,
        [
          '-m',
          'pip',
          'uninstall',
          '--yes',
          '--break-system-packages',
          '--disable-pip-version-check',
          EXTENSION,
        ],
        { env: { PYTHONPATH: pythonPurelib } },
      );
      npmIn(
        npmPrefix,
        ['uninstall', '--offline', '--no-audit', '--no-fund', 'serverless-kernel', EXTENSION],
        STEP_MS,
      );
    }, 2 * STEP_MS);

    it('leaves no file in P', () => {
      expect(walk(pythonPrefix)).toEqual([]);
    });

    it("leaves no file in N but npm's own records, which list no package", () => {
      expect(walk(npmPrefix)).toEqual([
        'node_modules/.package-lock.json',
        'package-lock.json',
        'package.json',
      ]);
      expect(
        readJson<{ dependencies?: object }>(path.join(npmPrefix, 'package.json')).dependencies ?? {},
      ).toEqual({});
      expect(
        Object.keys(readJson<{ packages: object }>(path.join(npmPrefix, 'package-lock.json')).packages),
      ).toEqual(['']);
      expect(
        readJson<{ packages?: object }>(path.join(npmPrefix, 'node_modules', '.package-lock.json'))
          .packages ?? {},
      ).toEqual({});
    });
  });
});

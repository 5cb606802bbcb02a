/**
 * What the built prebuilt extension (extension/labextension, made by
 * @jupyter/builder; scripts/setup.sh builds it) asks of the JupyterLab that
 * loads it: every @jupyterlab/* and @lumino/* module as a shared singleton it
 * does not bundle, at a caret range that both the oldest supported release
 * (extension/compat.json `oldest`, the versions lab/oldest/package.json
 * pins) and the newest tested one (`newest`, what lab/ ships) satisfy, so
 * every 4.x between and after them does too. compat.json's `jupyterlab`
 * requirement (the wheel's) says the same. The README states the supported
 * versions from the same file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { REPO_ROOT } from '../helpers/paths';

const LABEXTENSION = path.join(REPO_ROOT, 'extension', 'labextension');

/** extension/compat.json: the JupyterLab releases the extension supports. */
const COMPAT = JSON.parse(readFileSync(path.join(REPO_ROOT, 'extension', 'compat.json'), 'utf8')) as {
  oldest: string;
  newest: string;
  jupyterlab: string;
};

/** lab/oldest/package.json: the oldest release's lab, every package of the release pinned. */
const OLDEST_LAB = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'lab', 'oldest', 'package.json'), 'utf8'),
) as {
  dependencies: Record<string, string>;
  overrides: Record<string, string>;
  jupyterlab: { release: string };
};

interface SharedRequest {
  shareKey: string;
  import: string | null;
  requiredVersion: string;
  singleton: boolean;
}

/** The shared-module requests of the federated remote entry (its consume-shared options). */
function sharedRequests(): SharedRequest[] {
  const meta = JSON.parse(readFileSync(path.join(LABEXTENSION, 'package.json'), 'utf8')) as {
    jupyterlab: { _build: { load: string } };
  };
  const chunks = [meta.jupyterlab._build.load];
  const requests = new Map<string, SharedRequest>();
  for (const chunk of chunks) {
    const source = readFileSync(path.join(LABEXTENSION, chunk), 'utf8');
    const pattern =
      /shareKey:"([^"]+)",import:(null|"[^"]*"),requiredVersion:"([^"]*)",strictVersion:[^,]+,singleton:(!0|!1)/g;
    for (const match of source.matchAll(pattern)) {
      requests.set(match[1], {
        shareKey: match[1],
        import: match[2] === 'null' ? null : match[2].slice(1, -1),
        requiredVersion: match[3],
        singleton: match[4] === '!0',
      });
    }
  }
  return [...requests.values()];
}

/** The version of `name` that the project's JupyterLab (lab/, the newest release tested) ships. */
function shippedVersion(name: string): string {
  const file = require.resolve(`${name}/package.json`, { paths: [path.join(REPO_ROOT, 'lab')] });
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function parts(version: string): number[] {
  return version
    .split('-')[0]
    .split('.')
    .map((n) => Number(n));
}

/** Whether `version` satisfies caret range `range` (`^M.m.p`, prerelease tags ignored on the bound). */
function satisfiesCaret(version: string, range: string): boolean {
  const [major, minor, patch] = parts(range.slice(1));
  const [vMajor, vMinor, vPatch] = parts(version);
  if (vMajor !== major) {
    return false;
  }
  return vMinor > minor || (vMinor === minor && vPatch >= patch);
}

describe('the prebuilt extension’s shared modules', () => {
  const requests = sharedRequests();
  const core = requests.filter((r) => /^@(jupyterlab|lumino)\//.test(r.shareKey));

  it('asks for the core JupyterLab and Lumino packages it imports', () => {
    expect(core.map((r) => r.shareKey)).toEqual(
      expect.arrayContaining([
        '@jupyterlab/application',
        '@jupyterlab/apputils',
        '@jupyterlab/notebook',
        '@lumino/widgets',
        '@lumino/signaling',
      ]),
    );
  });

  it('takes every one of them from JupyterLab as a singleton and bundles none', () => {
    for (const request of core) {
      expect({ key: request.shareKey, singleton: request.singleton, import: request.import }).toEqual({
        key: request.shareKey,
        singleton: true,
        import: null,
      });
    }
  });

  it('asks for caret ranges that the oldest supported release, the newest tested one and every later 4.x satisfy', () => {
    for (const request of core) {
      expect(request.requiredVersion).toMatch(/^\^\d+\.\d+\.\d+/);
      const oldest = OLDEST_LAB.overrides[request.shareKey];
      const newest = shippedVersion(request.shareKey);
      expect({
        key: request.shareKey,
        oldest: satisfiesCaret(oldest ?? 'none', request.requiredVersion),
        newest: satisfiesCaret(newest, request.requiredVersion),
      }).toEqual({ key: request.shareKey, oldest: true, newest: true });
      // No wider than the oldest release: a range is what was tested.
      expect(request.requiredVersion).toBe(`^${oldest}`);
    }
    const application = core.find((r) => r.shareKey === '@jupyterlab/application');
    expect(application?.requiredVersion).toBe(`^${COMPAT.oldest}`);
  });

  it('is declared in extension/compat.json, which the two labs of the browser test are pinned to', () => {
    expect(COMPAT.jupyterlab).toBe(`>=${COMPAT.oldest},<5`);
    expect(OLDEST_LAB.jupyterlab.release).toBe(COMPAT.oldest);
    expect(OLDEST_LAB.dependencies['@jupyterlab/application']).toBe(COMPAT.oldest);
    expect(OLDEST_LAB.overrides['@jupyterlab/application']).toBe(COMPAT.oldest);
    expect(shippedVersion('@jupyterlab/application')).toBe(COMPAT.newest);
    expect(parts(COMPAT.oldest)[0]).toBe(4);
    expect(satisfiesCaret(COMPAT.newest, `^${COMPAT.oldest}`)).toBe(true);
  });

  it("is the wheel's requirement (extension/pyproject.toml)", () => {
    const pyproject = readFileSync(path.join(REPO_ROOT, 'extension', 'pyproject.toml'), 'utf8');
    expect(/^dependencies = \["([^"]+)"\]$/m.exec(pyproject)?.[1]).toBe(`jupyterlab${COMPAT.jupyterlab}`);
  });

  it('checks a range the way a loader would', () => {
    expect(satisfiesCaret('4.6.4', '^4.6.4')).toBe(true);
    expect(satisfiesCaret('4.7.0', '^4.6.4')).toBe(true);
    expect(satisfiesCaret('4.6.3', '^4.6.4')).toBe(false);
    expect(satisfiesCaret('5.0.0', '^4.6.4')).toBe(false);
    expect(satisfiesCaret('2.10.0', '^2.3.1-alpha.1')).toBe(true);
    expect(satisfiesCaret('4.0.0', '^4.0.0')).toBe(true);
    expect(satisfiesCaret('2.1.1', '^2.3.1-alpha.1')).toBe(false);
    expect(satisfiesCaret('none', '^4.0.0')).toBe(false);
  });
});

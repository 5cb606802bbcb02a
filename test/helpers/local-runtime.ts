/**
 * The embedded runtime with real worker processes, for its test suites:
 * backends made through the fixture are disposed after each test, which
 * then checks that none of their worker processes is left; each test gets a
 * fresh temporary directory. The workers run the build (`npm run build` first).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize } from 'node:v8';

import { InvocationResult, ProgramResult } from '../../kernel-magics/src/runtime/backend';
import { LocalBackend, LocalBackendOptions } from '../../kernel-magics/src/runtime/local';
import { WORKER_BUNDLE } from '../../kernel-magics/src/runtime/local/config';
import { REPO_ROOT } from './paths';
import { isAlive } from './processes';

/** The built local runtime (the workers run it). */
export const DIST_LOCAL = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'runtime', 'local');
/** The built worker entry point, as the backend starts it (bundled). */
export const LOCAL_WORKER = path.join(DIST_LOCAL, WORKER_BUNDLE);

/** Hex SHA-256 of a program's source or captures (what requests are keyed by). */
export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What the program of an `ok` invocation returned; throws on any other outcome. */
export function programResult(result: InvocationResult): ProgramResult {
  if (result.outcome.status !== 'ok') {
    throw new Error(`expected ok, got ${JSON.stringify(result.outcome)}`);
  }
  return deserialize(result.outcome.result) as ProgramResult;
}

/** Backends and a temporary directory per test (see the module comment). */
export interface LocalRuntimeFixture {
  /** A backend on the built worker, disposed after the test. */
  backend(options?: LocalBackendOptions): LocalBackend;
  /** This test's temporary directory. */
  readonly tmp: string;
}

/** Registers the hooks of a suite of the local runtime; `prefix` names its temporary directories. */
export function useLocalRuntime(prefix: string): LocalRuntimeFixture {
  let backends: LocalBackend[] = [];
  let tmp = '';
  beforeAll(() => {
    const compiled = path.join(DIST_LOCAL, 'worker.js');
    if (!existsSync(LOCAL_WORKER) || statSync(LOCAL_WORKER).mtimeMs < statSync(compiled).mtimeMs) {
      throw new Error(`${LOCAL_WORKER} is missing or older than worker.js: run \`npm run build\` first`);
    }
  });
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    const pids = backends.flatMap((b) => b.pids());
    await Promise.all(backends.map((b) => b.dispose()));
    backends = [];
    expect(pids.filter(isAlive)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });
  return {
    backend(options = {}) {
      // The embedded store's directory in the test's own temporary directory, not the user's home.
      const created = new LocalBackend({
        workerPath: LOCAL_WORKER,
        storeDir: path.join(tmp, 'store'),
        ...options,
      });
      backends.push(created);
      return created;
    },
    get tmp() {
      return tmp;
    },
  };
}

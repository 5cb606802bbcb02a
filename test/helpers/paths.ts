/** Paths of the repository and its built artifacts, for tests. */
import * as path from 'node:path';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The built kernel CLI (npm test builds before running jest). */
export const KERNEL_CLI = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'bin', 'serverless-kernel.js');
/** Debian's Python, which has the Jupyter packages (see shared/ENVIRONMENT.md). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

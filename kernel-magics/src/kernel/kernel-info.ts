/**
 * kernel_info_reply content: what this kernel is and what language it runs.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../package-root';
import { JsonObject, PROTOCOL_VERSION } from './messages';

/** The kernelspec name users select. */
export const KERNEL_NAME = 'serverless-ts';
/** The kernel's display name in launchers and menus. */
export const DISPLAY_NAME = 'TypeScript (serverless)';

function readVersion(packageJson: string): string {
  const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string };
  return parsed.version ?? '0.0.0';
}

/** This package's version. */
function packageVersion(): string {
  return readVersion(path.join(PACKAGE_ROOT, 'package.json'));
}

/**
 * The version of the compiler tslab checks cells with, read from its
 * package.json (loading the compiler itself would slow the kernel's start).
 */
function compilerVersion(): string {
  const tslabDir = path.dirname(require.resolve('tslab/package.json'));
  return readVersion(require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [tslabDir] }));
}

let cached: JsonObject | undefined;

/** The kernel_info_reply content (computed once). */
export function kernelInfoReply(): JsonObject {
  cached ??= {
    status: 'ok',
    protocol_version: PROTOCOL_VERSION,
    implementation: 'serverless-kernel',
    implementation_version: packageVersion(),
    language_info: {
      name: 'typescript',
      // The compiler that checks and transpiles cells.
      version: compilerVersion(),
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: { name: 'javascript', typescript: true },
      pygments_lexer: 'typescript',
      nbconvert_exporter: 'script',
    },
    banner:
      `serverless-kernel ${packageVersion()}: TypeScript ${compilerVersion()} on Node.js ${process.version}.\n` +
      'Start a cell with %%serverless to run it as serverless invocations.',
    help_links: [
      { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/intro.html' },
      { text: 'Node.js API', url: 'https://nodejs.org/api/' },
      { text: 'tslab', url: 'https://github.com/yunabe/tslab' },
    ],
    debugger: false,
  };
  return cached;
}

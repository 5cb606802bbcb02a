/**
 * This kernel's defaults for `%%serverless` cells, set by `%serverless
 * config`: kept as arguments put before a cell's own, so the cell's win.
 */
import { Command } from 'commander';

import { cellProgram } from './cell-program';
import { LIMITS } from './options';
import { parseCellMagic } from './parse';

/** Options `%serverless config` may set as defaults. */
export const CONFIGURABLE = [
  '--backend',
  '--memory',
  '--timeout',
  '--concurrency',
  '--retries',
  '--files',
  '--output-cap',
  '--store',
  '--cpu',
];

/** The session's defaults. */
export class SessionDefaults {
  /** Flag -> value, in the order first set. */
  private readonly values = new Map<string, string>();

  /** The cell magic's options that can be defaults (their parsers check the values). */
  static options(): Command['options'] {
    return cellProgram().options.filter((option) => option.long && CONFIGURABLE.includes(option.long));
  }

  /** The defaults as `%%serverless` arguments. */
  args(): string[] {
    return [...this.values].flatMap(([flag, value]) => [flag, value]);
  }

  /** Sets the options `program` (built with {@link SessionDefaults.options}) was given. */
  set(program: Command): void {
    for (const option of program.options) {
      const key = option.attributeName();
      if (option.long && CONFIGURABLE.includes(option.long) && program.getOptionValueSource(key) === 'cli') {
        this.values.set(option.long, String(program.getOptionValue(key)));
      }
    }
  }

  /** The store URL set as a default (`--store`), if any. */
  store(): string | undefined {
    return this.values.get('--store');
  }

  /** Forgets every default. */
  reset(): void {
    this.values.clear();
  }

  /** What cells get, and what was set here. */
  describe(): string {
    const parsed = parseCellMagic('%%serverless\n0', this.args());
    if (parsed.kind !== 'run') {
      return '';
    }
    const o = parsed.options;
    const set = this.args();
    return (
      `%%serverless defaults for this kernel: --backend ${o.backend} --memory ${o.memoryMb} --timeout ${o.timeoutS} ` +
      `--concurrency ${o.concurrency} --retries ${o.retries} --output-cap ${o.outputCapMb ?? LIMITS.outputCapMb.default}` +
      (o.files !== undefined ? ` --files ${o.files}` : '') +
      ` --store ${o.store ?? 'embedded'} --cpu ${o.cpu}` +
      (set.length > 0 ? `\n(set here: ${set.join(' ')})` : '') +
      '\n'
    );
  }
}

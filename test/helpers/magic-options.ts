/** Every option of `%%serverless` (shared/DESIGN.md's contract), for tests of the help text. */
export const CELL_MAGIC_OPTIONS = [
  '--backend',
  '--memory',
  '--timeout',
  '--concurrency',
  '--retries',
  '--map',
  '--max-elements',
  '--as',
  '--out',
  '--budget',
  '--dry-run',
  '--files',
  '--output-cap',
  '--store',
  '--help',
] as const;

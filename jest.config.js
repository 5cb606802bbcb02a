/** Jest: TypeScript tests under test/, run with ts-jest against the sources. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  testTimeout: 60000,
  // End-to-end suites share one Jupyter server; run files one at a time on 2 cores.
  maxWorkers: 1,
  // No forceExit: every suite closes what it opened, and test/run-all.mjs
  // fails the run if jest does not exit soon after its report.
};

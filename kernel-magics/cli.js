#!/usr/bin/env node
// The `serverless-kernel` command. A plain-JS shim that exists before the
// build, so npm can link it at install time; the CLI itself is TypeScript.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS entry point
require('./dist/bin/serverless-kernel.js');

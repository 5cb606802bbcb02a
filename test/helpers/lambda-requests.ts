/**
 * Invocation requests of real compiled bodies, as the kernel makes them for
 * the Lambda backend (plan/analyze + plan/compile + plan/capture), and
 * Lambda settings that point the payload bucket at a test s3rver.
 */
import { randomBytes } from 'node:crypto';
import { serialize } from 'node:v8';

import { analyzeBody } from '../../kernel-magics/src/plan/analyze';
import { serializeCaptures } from '../../kernel-magics/src/plan/capture';
import { CompiledBody, compileBody } from '../../kernel-magics/src/plan/compile';
import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import type { LambdaSettings } from '../../kernel-magics/src/runtime/lambda/config';
import { TEST_BUCKET } from './stores';

/** What a request is made of; every field has a default. */
export interface RequestParts {
  /** Kernel variables the body captures, by name. */
  captures?: Record<string, unknown>;
  /** With `--map`: the element and the name the body binds it to. */
  element?: { name: string; value: unknown };
  id?: string;
  runId?: string;
  index?: number;
  cwd?: string;
  timeoutS?: number;
  filename?: string;
}

/** A body compiled as a `%%serverless` cell's, with the given captures and element. */
export function compileCell(body: string, parts: RequestParts = {}): CompiledBody {
  const analysis = analyzeBody(body);
  if (analysis.syntaxErrors.length > 0) {
    throw new Error(`the test body does not parse: ${analysis.syntaxErrors.join('; ')}`);
  }
  return compileBody(analysis, {
    captured: Object.keys(parts.captures ?? {}),
    functions: new Map(),
    tensors: [],
    collectExports: parts.element === undefined,
    elementName: parts.element?.name,
    filename: parts.filename ?? 'serverless-cell-lambda',
  });
}

/** A request of `body`, as the kernel's runner sends it to a backend. */
export function cellRequest(body: string, parts: RequestParts = {}): InvocationRequest {
  const { program } = compileCell(body, parts);
  return {
    id: parts.id ?? `inv-${randomBytes(4).toString('hex')}`,
    runId: parts.runId ?? `run-${randomBytes(4).toString('hex')}`,
    index: parts.index,
    program,
    captures: serializeCaptures(parts.captures ?? {}),
    element: parts.element === undefined ? undefined : serialize(parts.element.value),
    memoryMb: 512,
    timeoutS: parts.timeoutS ?? 30,
    retries: 0,
    cwd: parts.cwd ?? process.cwd(),
  };
}

/** Lambda settings whose payload bucket is the test s3rver's bucket at `s3Endpoint`. */
export function s3rverSettings(s3Endpoint: string): LambdaSettings {
  return {
    region: 'us-east-1',
    functionName: 'serverless-kernel-runner',
    bucket: TEST_BUCKET,
    s3Endpoint,
    arch: 'x86_64',
  };
}

/** `bytes` bytes, not all alike (so nothing compresses them away), the same for the same size. */
export function patternBytes(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k += 1) {
    out[k] = (k * 131 + (k >> 12)) % 251;
  }
  return out;
}

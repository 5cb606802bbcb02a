/**
 * What an invocation brings to an environment that runs programs: the
 * program and its captures by content hash (sent once per environment, then
 * kept), the element, and where its `require` resolves from. Every backend's
 * entry point (the local worker, a Lambda handler) hands these to a
 * {@link ProgramRunner}.
 */
import type { InvocationContext } from './context';

/** The inputs of one invocation, as an entry point receives them. */
export interface ProgramInputs {
  programHash: string;
  /** Present the first time this environment sees the program. */
  program?: { source: string; filename: string };
  capturesHash: string;
  /** V8-serialized captures; present the first time this environment sees them. */
  captures?: Uint8Array;
  /** The V8-serialized element; absent without --map. */
  element?: Uint8Array;
  /** Directory the program's `require` resolves modules from. */
  cwd: string;
  /** What the program may know of its invocation (see ./context). */
  context?: InvocationContext;
  /** Programs to drop from the environment's cache (the kernel side forgot them). */
  dropPrograms?: string[];
  /** Captures to drop from the environment's cache (the kernel side forgot them). */
  dropCaptures?: string[];
}

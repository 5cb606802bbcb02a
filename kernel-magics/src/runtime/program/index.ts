/**
 * Running a shipped program, for every backend's entry point (the local
 * worker, a Lambda handler). Node built-ins only: loadable in a Lambda bundle.
 */
export { ProgramInputs } from './inputs';
export { OutputOwnership, ProgramSink } from './output';
export { ProgramOutcome, ProgramRunner } from './runner';
export { toRemoteError } from './remote-error';

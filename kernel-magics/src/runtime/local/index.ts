/**
 * The embedded runtime (`--backend local`): Lambda's semantics in worker
 * processes on this machine.
 */
export { LocalBackend } from './local-backend';
export { LOCAL_DEFAULTS, LocalBackendOptions } from './config';

/**
 * The kernel's comm registry, for kernel-side code (the telemetry emitter,
 * user cells) to register comm targets.
 */
import { CommRegistry } from './kernel/comms';

/** The one registry of this kernel process. */
export const comms = new CommRegistry();

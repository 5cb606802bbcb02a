/** Telemetry: the event protocol shared with the extension, and the kernel's hub. */
export * from './events';
export * from './hub';

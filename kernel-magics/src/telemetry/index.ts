/** Telemetry: the event protocol shared with the extension (`./protocol`), and the kernel's hub. */
export * from './protocol';
export * from './hub';

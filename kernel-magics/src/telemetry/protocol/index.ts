/**
 * The telemetry protocol, browser-safe (no Node imports): the package subpath
 * `serverless-kernel/telemetry`, what the JupyterLab extension imports.
 */
export * from './events';
export * from './guards';
export * from './bytes';
export * from './money';

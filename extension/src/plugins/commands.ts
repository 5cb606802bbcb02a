/**
 * The ids of the extension's commands (shared by the plugins that register
 * and execute them).
 */

/** Opens (and focuses) the serverless side panel. */
export const OPEN_PANEL_COMMAND = 'jupyter-serverless:open-panel';
/** Cancels the running `%%serverless` cell run of the current kernel. */
export const CANCEL_COMMAND = 'jupyter-serverless:cancel';
/** Downloads the current kernel's telemetry events as JSON. */
export const EXPORT_COMMAND = 'jupyter-serverless:export-telemetry';

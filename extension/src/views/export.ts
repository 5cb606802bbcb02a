/**
 * Export of the telemetry: the model's events as a JSON file the browser
 * downloads.
 */
import type { ITelemetryModel } from '../tokens';

/** The name of the downloaded file. */
export const EXPORT_FILENAME = 'serverless-telemetry.json';

/** The file's content: the model's export as a JSON Blob. */
export function exportBlob(model: Pick<ITelemetryModel, 'exportJson'>): Blob {
  return new Blob([model.exportJson()], { type: 'application/json' });
}

/** Makes the browser download the model's events as {@link EXPORT_FILENAME}. */
export function downloadTelemetry(
  model: Pick<ITelemetryModel, 'exportJson'>,
  filename: string = EXPORT_FILENAME,
): void {
  const url = URL.createObjectURL(exportBlob(model));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.appendChild(link);
  try {
    link.click();
  } finally {
    link.remove();
    // Give the download a moment to start before the URL goes away.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

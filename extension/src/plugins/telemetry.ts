/**
 * The telemetry model plugin: one {@link TelemetryModel} that follows the
 * kernel of the current notebook, configured by the `telemetry` settings.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { KernelFollower } from '../model/notebook-tracking';
// The model is the service this plugin provides: activation needs it at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { TelemetryModel } from '../model/telemetry-model';
import { ITelemetryModel } from '../tokens';

/** The plugin id; also names the settings schema (`schema/telemetry.json`). */
export const TELEMETRY_PLUGIN_ID = 'jupyterlab-serverless:telemetry';

/** Provides {@link ITelemetryModel}. */
export const telemetryPlugin: JupyterFrontEndPlugin<ITelemetryModel> = {
  id: TELEMETRY_PLUGIN_ID,
  description: "Follows the serverless telemetry of the current notebook's kernel.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry],
  provides: ITelemetryModel,
  activate: (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
  ): ITelemetryModel => {
    const model = new TelemetryModel();
    const follower = new KernelFollower(tracker, (kernel) => model.connect(kernel));
    model.disposed.connect(() => follower.dispose());
    if (settingRegistry) {
      settingRegistry.load(TELEMETRY_PLUGIN_ID).then(
        (settings) => {
          applySettings(model, settings);
          settings.changed.connect(() => applySettings(model, settings));
        },
        (reason: unknown) => {
          // The defaults stay in force; say why, as JupyterLab's own plugins do.
          // eslint-disable-next-line no-console
          console.warn(`${TELEMETRY_PLUGIN_ID}: could not load the settings`, reason);
        },
      );
    }
    return model;
  },
};

/** Applies the `telemetry` settings to the model. */
function applySettings(model: ITelemetryModel, settings: ISettingRegistry.ISettings): void {
  const throttle = settings.get('redrawThrottleMs').composite;
  const budget = settings.get('budgetWarningUsd').composite;
  model.throttleMs =
    typeof throttle === 'number' && Number.isFinite(throttle) && throttle >= 0
      ? throttle
      : TelemetryModel.DEFAULT_THROTTLE_MS;
  model.budgetWarningUsd = typeof budget === 'number' && budget > 0 ? budget : null;
}

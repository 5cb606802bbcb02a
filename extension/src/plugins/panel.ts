/**
 * The side panel plugin: adds the serverless panel to the right area and
 * registers the commands to open it, cancel the running cell run and export
 * the telemetry.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { ITelemetryModel } from '../tokens';
import { downloadTelemetry } from '../views/export';
import { serverlessIcon } from '../views/icon';
// A few lines the panel (imported at once below) brings along anyway.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { hasRunning } from '../views/header-shape';
// The panel is what this plugin adds at activation: it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { ServerlessPanel } from '../views/panel';
import { CANCEL_COMMAND, EXPORT_COMMAND, OPEN_PANEL_COMMAND } from './commands';

/** The plugin id. */
export const PANEL_PLUGIN_ID = 'jupyterlab-serverless:panel';

/** The panel's rank in the right area (after JupyterLab's own panels). */
const PANEL_RANK = 1000;

/** Adds the serverless side panel and its commands. */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: PANEL_PLUGIN_ID,
  description:
    'Adds the serverless side panel: invocations, gradient traffic and cost of the current kernel.',
  autoStart: true,
  requires: [ITelemetryModel],
  optional: [ILayoutRestorer, ICommandPalette, IThemeManager, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ITelemetryModel,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    themeManager: IThemeManager | null,
    translator: ITranslator | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab-serverless');
    const panel = new ServerlessPanel({
      model,
      translator: translator ?? undefined,
      themeChanged: themeManager?.themeChanged,
    });
    app.shell.add(panel, 'right', { rank: PANEL_RANK });
    restorer?.add(panel, ServerlessPanel.ID);

    const { commands } = app;
    commands.addCommand(OPEN_PANEL_COMMAND, {
      label: trans.__('Open the Serverless Panel'),
      caption: trans.__('Show the invocations, gradient traffic and cost of the current kernel'),
      icon: serverlessIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => app.shell.activateById(panel.id),
    });
    commands.addCommand(CANCEL_COMMAND, {
      label: trans.__('Cancel the Running Serverless Cell'),
      caption: trans.__('Ask the kernel to cancel its running %1 cell run', '%%serverless'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runId: {
              type: 'string',
              description: trans.__('The run to cancel (default: the running one)'),
            },
          },
        },
      },
      isEnabled: () => model.connection === 'open' && hasRunning(model.state),
      execute: (args) => model.cancel(typeof args.runId === 'string' ? args.runId : undefined),
    });
    commands.addCommand(EXPORT_COMMAND, {
      label: trans.__('Export Serverless Telemetry (JSON)'),
      caption: trans.__("Download the current kernel's telemetry events as serverless-telemetry.json"),
      describedBy: { args: { type: 'object', properties: {} } },
      isEnabled: () => model.state.lastSeq > 0,
      execute: () => downloadTelemetry(model),
    });
    // Enabled states follow the model (its signal is already throttled).
    model.changed.connect(() => {
      commands.notifyCommandChanged(CANCEL_COMMAND);
      commands.notifyCommandChanged(EXPORT_COMMAND);
    });

    if (palette) {
      for (const command of [OPEN_PANEL_COMMAND, CANCEL_COMMAND, EXPORT_COMMAND]) {
        palette.addItem({ command, category: trans.__('Serverless') });
      }
    }
  },
};

/**
 * The status bar plugin: the current kernel's serverless cost (and what
 * runs) in the status bar, next to the kernel status; a click opens the
 * serverless panel.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';

import { ITelemetryModel } from '../tokens';
// The item is what this plugin adds at activation: it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { ServerlessStatus } from '../views/status-item';
import { OPEN_PANEL_COMMAND } from './commands';

/** The plugin id (also the status item's id). */
export const STATUS_PLUGIN_ID = 'jupyterlab-serverless:status';

/** Left of the status bar, after the kernel status (rank 1) and the execution indicator (rank 3). */
const STATUS_RANK = 4;

/** Adds the serverless status bar item (none without a status bar). */
export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: STATUS_PLUGIN_ID,
  description: "Shows the current kernel's serverless cost in the status bar.",
  autoStart: true,
  requires: [ITelemetryModel],
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, model: ITelemetryModel, statusBar: IStatusBar | null): void => {
    if (!statusBar) {
      return;
    }
    const item = new ServerlessStatus({
      model,
      onClick: () => {
        if (app.commands.hasCommand(OPEN_PANEL_COMMAND)) {
          void app.commands.execute(OPEN_PANEL_COMMAND);
        }
      },
    });
    statusBar.registerStatusItem(STATUS_PLUGIN_ID, {
      item,
      align: 'left',
      rank: STATUS_RANK,
      isActive: () => item.isActive,
      activeStateChanged: item.activeStateChanged,
    });
  },
};

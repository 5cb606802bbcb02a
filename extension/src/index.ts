/**
 * jupyterlab-serverless: the JupyterLab side of jupyter-serverless. The
 * telemetry model plugin follows the current notebook's kernel; the side
 * panel, the status bar item and the commands build on its token. Plotly
 * figures in notebook outputs are drawn by a renderer of its own.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { panelPlugin } from './plugins/panel';
import { plotlyOutputPlugin } from './plugins/plotly-output';
import { statusPlugin } from './plugins/status';
import { telemetryPlugin } from './plugins/telemetry';

/** The extension's plugin ids share this prefix. */
export const PLUGIN_PREFIX = 'jupyterlab-serverless';

const activationPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:activation`,
  description: 'Marks the jupyter-serverless extension as loaded.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.restored.then(
      () => document.body.setAttribute('data-jp-serverless', 'loaded'),
      () => undefined,
    );
  },
};

/** The extension's plugins. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  activationPlugin,
  telemetryPlugin,
  panelPlugin,
  statusPlugin,
  plotlyOutputPlugin,
];

export default plugins;

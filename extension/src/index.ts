/**
 * jupyterlab-serverless: the JupyterLab side of jupyter-serverless. This
 * first plugin only announces itself; the telemetry model and the side panel
 * come with the panel issue.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

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
const plugins: JupyterFrontEndPlugin<unknown>[] = [activationPlugin];

export default plugins;

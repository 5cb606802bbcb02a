/**
 * The Plotly output plugin: notebook outputs of MIME type
 * `application/vnd.plotly.v1+json` (the chart `%%serverless --tune` prints)
 * drawn with the Plotly the extension already bundles, when no other
 * extension renders them.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IThemeManager } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

// The factory is what this plugin adds at activation (Plotly itself loads lazily, on the first chart).
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { PlotlyOutput } from '../views/plotly-output';

/** The plugin id. */
export const PLOTLY_OUTPUT_PLUGIN_ID = 'jupyterlab-serverless:plotly-output';

/**
 * Adds the Plotly output renderer unless a renderer of the MIME type is
 * there: an installed jupyterlab-plotly wins whichever activates first
 * (ranks cannot decide it; see `PlotlyOutput.register`).
 */
export const plotlyOutputPlugin: JupyterFrontEndPlugin<void> = {
  id: PLOTLY_OUTPUT_PLUGIN_ID,
  description: 'Draws Plotly figures in notebook outputs when jupyterlab-plotly is not installed.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [IThemeManager],
  activate: (_app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, themeManager: IThemeManager | null) => {
    PlotlyOutput.register(rendermime, { themeChanged: themeManager?.themeChanged });
  },
};

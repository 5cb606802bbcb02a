/**
 * Plotly, loaded the first time a chart becomes visible: a dynamic
 * `import()` puts `plotly.js-dist-min` in a chunk of its own, so JupyterLab
 * starts without it and never loads it unless the panel is opened.
 */
import type { Config, Data, Layout } from 'plotly.js';

/** What the views use of Plotly. */
export interface IPlotly {
  react(
    root: HTMLElement,
    data: Data[],
    layout?: Partial<Layout>,
    config?: Partial<Config>,
  ): Promise<unknown>;
  purge(root: HTMLElement): void;
  readonly Plots: { resize(root: HTMLElement): Promise<unknown> | void };
}

/** Loads Plotly (the view's option `loadPlotly` can replace this, e.g. in tests). */
export type PlotlyLoader = () => Promise<IPlotly>;

let loading: Promise<IPlotly> | null = null;

/** Loads Plotly once; a failed load is tried again on the next call. */
export const loadPlotly: PlotlyLoader = () => {
  if (!loading) {
    loading = import('plotly.js-dist-min').then(
      (mod) => {
        // A CommonJS bundle: the bundler hands it over as `default` (or as the namespace itself).
        const m = mod as unknown as IPlotly & { default?: IPlotly };
        return m.default ?? m;
      },
      (reason: unknown) => {
        loading = null;
        throw reason;
      },
    );
  }
  return loading;
};

/** The configuration of every chart of the panel. */
export const PLOT_CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['lasso2d', 'select2d', 'zoomIn2d', 'zoomOut2d', 'autoScale2d'],
};

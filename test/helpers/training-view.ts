/**
 * The panel's training view as a browser test reads it: the traces of its
 * Plotly figure. The function runs in the page (`page.waitForFunction`): it
 * uses nothing from outside its body.
 */

/** A trace of the training view's Plotly figure, as the page has it. */
export interface DrawnTrainingTrace {
  name: string;
  type: string;
  x: number[];
  y: (number | null)[];
  text: string[];
}

/**
 * Runs in the page: the training chart's traces once its loss line has
 * `epochs` points; null (a wait goes on) before.
 */
export function drawnTraining([selector, epochs]: readonly [string, number]): DrawnTrainingTrace[] | null {
  type Trace = {
    name?: string;
    type?: string;
    x?: ArrayLike<number>;
    y?: ArrayLike<number | null>;
    text?: string | string[];
  };
  const plot = document.querySelector(`${selector} .js-plotly-plot`) as (Element & { data?: Trace[] }) | null;
  const traces = (plot?.data ?? []).map((t): DrawnTrainingTrace => ({
    name: String(t.name ?? ''),
    type: String(t.type ?? ''),
    x: Array.from(t.x ?? []),
    y: Array.from(t.y ?? []),
    text: Array.isArray(t.text) ? t.text.map(String) : [],
  }));
  return traces.find((t) => t.name === 'loss')?.x.length === epochs ? traces : null;
}

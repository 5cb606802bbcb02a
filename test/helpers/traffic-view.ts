/**
 * The panel's gradient-traffic view as a browser test reads it: the traces
 * of its Plotly figure and the geometry of its section and chart. The
 * functions that take a selector run in the page (`page.evaluate`,
 * `page.waitForFunction`): they use nothing from outside their body.
 */

/** A trace of the traffic view's Plotly figure, as the page has it. */
export interface DrawnTrace {
  name: string;
  type: string;
  x: (number | null)[];
  y: (number | null)[];
  text: string[];
  symbols: string[];
}

/** What the traffic view's chart holds: its traces and the graph's caption. */
export interface DrawnTraffic {
  traces: DrawnTrace[];
  caption: string;
}

/**
 * Runs in the page: the traffic chart's traces once its figure has `rounds`
 * bars a worker and the exchange graph's caption names `layout`; null (a
 * wait goes on) before.
 */
export function drawnTraffic([selector, rounds, layout]: readonly [
  string,
  number,
  string,
]): DrawnTraffic | null {
  type Trace = {
    name?: string;
    type?: string;
    x?: ArrayLike<number | null>;
    y?: ArrayLike<number | null>;
    text?: string | string[];
    marker?: { symbol?: string | string[] };
  };
  const plot = document.querySelector(`${selector} .js-plotly-plot`) as
    (Element & { data?: Trace[]; layout?: { annotations?: { text?: string }[] } }) | null;
  const caption = String(plot?.layout?.annotations?.[0]?.text ?? '');
  const traces = (plot?.data ?? []).map((t): DrawnTrace => {
    const symbol = t.marker?.symbol;
    return {
      name: String(t.name ?? ''),
      type: String(t.type ?? ''),
      x: Array.from(t.x ?? []),
      y: Array.from(t.y ?? []),
      text: Array.isArray(t.text) ? t.text.map(String) : [],
      symbols: Array.isArray(symbol) ? symbol.map(String) : [],
    };
  });
  const w0 = traces.find((t) => t.name === 'w0');
  return w0?.y.length === rounds && caption.includes(layout) ? { traces, caption } : null;
}

/** Line segments drawn by the graph's edge traces (each segment is `a, b, null`). */
export function edgeSegments(traces: DrawnTrace[]): number {
  return traces
    .filter((t) => /^edges \d+px$/.test(t.name))
    .reduce((n, t) => n + t.x.filter((x) => x === null).length, 0);
}

/** How the traffic section and its chart are laid out on the page, px. */
export interface TrafficGeometry {
  /** The traffic view's share of the three sections' height. */
  share: number;
  /** How far the traffic view's content overflows it (0: the chart fits, no scrolling). */
  overflow: number;
  /** The bottom of the round axis's title, the caption's top and bottom, the graph's top and bottom. */
  roundTitleBottom: number;
  captionTop: number;
  captionBottom: number;
  graphTop: number;
  graphBottom: number;
  /** The nodes' names: the top and bottom of each. */
  labels: { text: string; top: number; bottom: number }[];
}

/** Runs in the page: the traffic view's geometry (see {@link TrafficGeometry}). */
export function trafficGeometry(selector: string): TrafficGeometry {
  const views = ['Timeline', 'Traffic', 'Cost'].map(
    (name) => document.querySelector(`${selector} .jp-serverless-${name}`) as HTMLElement,
  );
  const traffic = views[1];
  const plot = traffic.querySelector('.js-plotly-plot') as HTMLElement & {
    _fullLayout: { yaxis3: { _offset: number; _length: number } };
  };
  const top = plot.getBoundingClientRect().top;
  const box = (element: Element | null) => {
    if (!element) {
      throw new Error('the traffic chart lacks a part');
    }
    return element.getBoundingClientRect();
  };
  const graph = plot._fullLayout.yaxis3;
  return {
    share: traffic.offsetHeight / views.reduce((sum, v) => sum + v.offsetHeight, 0),
    overflow: traffic.scrollHeight - traffic.clientHeight,
    roundTitleBottom: box(plot.querySelector('.g-xtitle text')).bottom,
    captionTop: box(plot.querySelector('.annotation')).top,
    captionBottom: box(plot.querySelector('.annotation')).bottom,
    graphTop: top + graph._offset,
    graphBottom: top + graph._offset + graph._length,
    labels: Array.from(plot.querySelectorAll('.scatterlayer .textpoint text')).map((t) => ({
      text: t.textContent ?? '',
      top: t.getBoundingClientRect().top,
      bottom: t.getBoundingClientRect().bottom,
    })),
  };
}

/** The compression ratio in a traffic summary (`ratio 4.98×`). */
export function summaryRatio(text: string): number {
  const match = /ratio ([\d.]+)×/.exec(text);
  if (!match) {
    throw new Error(`No compression ratio in: ${text}`);
  }
  return Number(match[1]);
}

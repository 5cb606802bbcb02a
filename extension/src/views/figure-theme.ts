/**
 * The JupyterLab theme as Plotly needs it: Plotly draws with color values,
 * not CSS variables, so the views resolve the `--jp-*` variables with
 * getComputedStyle before every draw (a theme change then only needs a
 * redraw), and build the layout parts every chart shares from them.
 */
import type { Layout, LayoutAxis } from 'plotly.js';

/** The resolved theme a figure is drawn with. */
export interface IFigureTheme {
  /** The value of a `--jp-*` color variable (a fallback when the theme lacks it). */
  color(cssVar: string): string;
  readonly fontFamily: string;
  /** px */
  readonly fontSize: number;
}

/** Colors used when a theme does not define a variable (JupyterLab's light theme). */
const FALLBACKS: Readonly<Record<string, string>> = {
  '--jp-ui-font-color1': 'rgba(0, 0, 0, 0.87)',
  '--jp-ui-font-color2': 'rgba(0, 0, 0, 0.54)',
  '--jp-ui-font-color3': 'rgba(0, 0, 0, 0.38)',
  '--jp-layout-color0': '#ffffff',
  '--jp-layout-color1': '#ffffff',
  '--jp-layout-color2': '#eeeeee',
  '--jp-layout-color3': '#bdbdbd',
  '--jp-border-color1': '#bdbdbd',
  '--jp-border-color2': '#e0e0e0',
  '--jp-brand-color1': '#1976d2',
  '--jp-info-color1': '#0097a7',
  '--jp-warn-color1': '#f57c00',
  '--jp-error-color1': '#d32f2f',
  '--jp-success-color1': '#388e3c',
};

const DEFAULT_FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif';

/** A theme from a lookup of CSS variables (`getComputedStyle(node).getPropertyValue`, or a map in tests). */
export function figureTheme(lookup: (cssVar: string) => string): IFigureTheme {
  const cache = new Map<string, string>();
  const color = (cssVar: string): string => {
    let value = cache.get(cssVar);
    if (value === undefined) {
      value = lookup(cssVar).trim() || FALLBACKS[cssVar] || '#808080';
      cache.set(cssVar, value);
    }
    return value;
  };
  const size = parseFloat(lookup('--jp-ui-font-size1'));
  return {
    color,
    fontFamily: lookup('--jp-ui-font-family').trim() || DEFAULT_FONT_FAMILY,
    fontSize: Number.isFinite(size) && size > 0 ? size : 13,
  };
}

/** The theme in force where `node` is (call it at draw time: the theme may have changed). */
export function resolveTheme(node: Element): IFigureTheme {
  const style = getComputedStyle(node);
  return figureTheme((cssVar) => style.getPropertyValue(cssVar));
}

/** An axis drawn in the theme's colors. */
export function themedAxis(theme: IFigureTheme, axis: Partial<LayoutAxis> = {}): Partial<LayoutAxis> {
  return {
    color: theme.color('--jp-ui-font-color2'),
    gridcolor: theme.color('--jp-border-color2'),
    linecolor: theme.color('--jp-border-color1'),
    zerolinecolor: theme.color('--jp-border-color1'),
    automargin: true,
    ...axis,
  };
}

/**
 * The layout every chart starts from: transparent backgrounds (the panel's
 * own color shows through), the theme's font, hover labels and a legend
 * under the plot.
 */
export function baseLayout(theme: IFigureTheme, height: number): Partial<Layout> {
  return {
    height,
    autosize: true,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { family: theme.fontFamily, size: theme.fontSize - 2, color: theme.color('--jp-ui-font-color1') },
    margin: { l: 8, r: 8, t: 24, b: 8, pad: 2 },
    hoverlabel: {
      bgcolor: theme.color('--jp-layout-color0'),
      bordercolor: theme.color('--jp-border-color1'),
      font: { family: theme.fontFamily, size: theme.fontSize - 1, color: theme.color('--jp-ui-font-color1') },
      align: 'left',
    },
    legend: {
      orientation: 'h',
      x: 0,
      xanchor: 'left',
      y: -0.08,
      yanchor: 'top',
      bgcolor: 'rgba(0,0,0,0)',
      font: { color: theme.color('--jp-ui-font-color1') },
    },
  };
}

/**
 * Epoch ms shifted so that Plotly's date axes (which show UTC) show local
 * time; one offset for the whole chart, taken at `ms`.
 */
export function localShiftMs(ms: number): number {
  return -new Date(ms).getTimezoneOffset() * 60_000;
}

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
  /**
   * The same color made opaque over the panel's background: overlapping
   * bars of a translucent color (e.g. `--jp-ui-font-color3`) would add up.
   */
  solid(cssVar: string): string;
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
  '--jp-brand-color0': '#0d47a1',
  '--jp-brand-color1': '#1976d2',
  '--jp-brand-color2': '#64b5f6',
  '--jp-info-color0': '#006064',
  '--jp-info-color1': '#0097a7',
  '--jp-info-color2': '#4dd0e1',
  '--jp-warn-color0': '#e65100',
  '--jp-warn-color1': '#f57c00',
  '--jp-warn-color2': '#ffb74d',
  '--jp-error-color0': '#b71c1c',
  '--jp-error-color1': '#d32f2f',
  '--jp-error-color2': '#e57373',
  '--jp-success-color0': '#1b5e20',
  '--jp-success-color1': '#388e3c',
  '--jp-success-color2': '#81c784',
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
    solid: (cssVar: string) => opaque(color(cssVar), color('--jp-layout-color1')),
    fontFamily: lookup('--jp-ui-font-family').trim() || DEFAULT_FONT_FAMILY,
    fontSize: Number.isFinite(size) && size > 0 ? size : 13,
  };
}

/** The named colors JupyterLab's themes use. */
const NAMED: Readonly<Record<string, [number, number, number, number]>> = {
  white: [255, 255, 255, 1],
  black: [0, 0, 0, 1],
  transparent: [0, 0, 0, 0],
};

/** `#rgb`, `#rrggbb`, `rgb(...)`, `rgba(...)`, white or black as [r, g, b, a]; null for other syntaxes. */
export function parseColor(color: string): [number, number, number, number] | null {
  const text = color.trim().toLowerCase();
  if (NAMED[text]) {
    return [...NAMED[text]];
  }
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(text);
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join('') : hex[1];
    return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16), 1];
  }
  const fn = /^rgba?\(([^)]*)\)$/.exec(text);
  if (fn) {
    const parts = fn[1].split(/[\s,/]+/).filter((p) => p !== '');
    if (parts.length === 3 || parts.length === 4) {
      const values = parts.map((p, i) =>
        p.endsWith('%') ? (parseFloat(p) / 100) * (i < 3 ? 255 : 1) : parseFloat(p),
      );
      if (values.every((v) => Number.isFinite(v))) {
        return [values[0], values[1], values[2], values[3] ?? 1];
      }
    }
  }
  return null;
}

/** `color` composited over `background` when it is translucent (as is when either cannot be parsed). */
export function opaque(color: string, background: string): string {
  const fg = parseColor(color);
  const bg = parseColor(background);
  if (!fg || fg[3] >= 1 || !bg || bg[3] < 1) {
    return color;
  }
  const a = Math.max(0, fg[3]);
  const mix = (i: number) => Math.round(fg[i] * a + bg[i] * (1 - a));
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
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

/** Every chart's margins, px (room for the mode bar on top; the axes' automargin widens them for ticks). */
export const BASE_MARGIN = { l: 8, r: 8, t: 24, b: 8, pad: 2 } as const;

/**
 * The layout every chart starts from: transparent backgrounds (the panel's
 * own color shows through), the theme's font, hover labels and a legend
 * under the plot. `height` in px; null: the chart takes its node's height
 * (the view's CSS sizes the node).
 */
export function baseLayout(theme: IFigureTheme, height: number | null): Partial<Layout> {
  return {
    ...(height === null ? {} : { height }),
    autosize: true,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { family: theme.fontFamily, size: theme.fontSize - 2, color: theme.color('--jp-ui-font-color1') },
    margin: { ...BASE_MARGIN },
    hoverlabel: {
      bgcolor: theme.color('--jp-layout-color0'),
      bordercolor: theme.color('--jp-border-color1'),
      font: { family: theme.fontFamily, size: theme.fontSize - 1, color: theme.color('--jp-ui-font-color1') },
      align: 'left',
    },
    modebar: {
      bgcolor: 'rgba(0,0,0,0)',
      color: theme.color('--jp-ui-font-color3'),
      activecolor: theme.color('--jp-brand-color1'),
    },
    // The legend is HTML above the chart (it wraps in a narrow panel; Plotly's would cover the ticks).
    showlegend: false,
  };
}

/** An entry of a chart's HTML legend. */
export interface LegendItem {
  readonly label: string;
  /** The `--jp-*` variable of its color (used as is in CSS). */
  readonly colorVar: string;
  /** A filled swatch, a line, or a dashed line. */
  readonly kind: 'fill' | 'line' | 'dash';
}

/** A local-time axis whose ticks show the time of day only (the date would take a second line). */
export function timeAxis(theme: IFigureTheme, axis: Partial<LayoutAxis> = {}): Partial<LayoutAxis> {
  return themedAxis(theme, {
    type: 'date',
    nticks: 5,
    tickangle: 0,
    hoverformat: '%H:%M:%S.%L',
    tickformatstops: [
      { dtickrange: [null, 1000], value: '%H:%M:%S.%L' },
      { dtickrange: [1000, 86_400_000], value: '%H:%M:%S' },
      { dtickrange: [86_400_000, null], value: '%b %e' },
    ],
    ...axis,
  });
}

/** How many characters of hover text fit across a chart `widthPx` wide (at least 24). */
export function hoverChars(widthPx: number, fontSize: number): number {
  // Hover labels use the font a pixel smaller; an average character is ~0.6 em; 40 px of padding.
  return Math.max(24, Math.floor((widthPx - 40) / ((fontSize - 1) * 0.6)));
}

/**
 * Epoch ms shifted so that Plotly's date axes (which show UTC) show local
 * time; one offset for the whole chart, taken at `ms`.
 */
export function localShiftMs(ms: number): number {
  return -new Date(ms).getTimezoneOffset() * 60_000;
}

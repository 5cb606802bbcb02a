/**
 * @jest-environment jsdom
 */
/**
 * Plotly figures in notebook outputs: the rendermime factory (its MIME type,
 * safety, a rank before the renderers JupyterLab ships, an installed
 * jupyterlab-plotly winning whichever registers first); the renderer drawing
 * through the loader (a Plotly that records its calls) in the theme without
 * overriding what the figure sets, with only part of an untrusted figure's
 * config, malformed data as an error text, redraws on new data and theme
 * changes, the plot purged on dispose.
 */
import './extension-views-dom';

import { readFileSync } from 'node:fs';

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { PlotlyOutput } from '../../extension/src/views/plotly-output';
import {
  figureDraw,
  parseFigure,
  PLOTLY_MIME_TYPE,
  themeTemplate,
} from '../../extension/src/views/plotly-output-figure';
import { figureTheme } from '../../extension/src/views/figure-theme';
import { REPO_ROOT } from '../helpers/paths';
import { attach, disposeAttached, fakePlotly, settle } from './extension-views-fakes';

/** A figure as the kernel's `--tune` chart has it: one scatter of points with labels, a title. */
function tuneFigure() {
  return {
    data: [
      {
        type: 'scatter',
        mode: 'markers+text',
        x: [0.8, 0.3, 0.2],
        y: [1.1e-6, 1.4e-6, 2.2e-6],
        text: ['128 MB', '512 MB', '1024 MB'],
      },
    ],
    layout: { title: { text: 'Tuning' } },
  };
}

/** An output's model holding `figure` (and the fallbacks the kernel sends with it). */
function outputModel(figure: unknown, trusted = true): IRenderMime.IMimeModel {
  return {
    trusted,
    data: {
      [PLOTLY_MIME_TYPE]: figure as IRenderMime.IMimeModel['data'][string],
      'text/plain': 'chart',
      'text/html': '<table><tr><td>chart</td></tr></table>',
    },
    metadata: {},
    setData: () => undefined,
  };
}

afterEach(disposeAttached);

/** A new renderer drawing with a recording Plotly. */
function renderer(options: Partial<PlotlyOutput.IOptions> = {}) {
  const fake = fakePlotly();
  const output = new PlotlyOutput({ mimeType: PLOTLY_MIME_TYPE, loadPlotly: fake.load, ...options });
  return { output, ...fake };
}

/**
 * The part of JupyterLab's RenderMimeRegistry that registering uses, as it
 * behaves (one factory per MIME type: `addFactory` replaces the one there,
 * whatever the ranks). The real one is an ES module this jest setup cannot
 * load; the browser test runs against it.
 */
class Registry {
  readonly factories = new Map<string, { factory: IRenderMime.IRendererFactory; rank: number }>();
  get mimeTypes(): string[] {
    return [...this.factories.keys()];
  }
  addFactory(factory: IRenderMime.IRendererFactory, rank?: number): void {
    for (const mimeType of factory.mimeTypes) {
      this.factories.set(mimeType, { factory, rank: rank ?? factory.defaultRank ?? 100 });
    }
  }
}

/** jupyterlab-plotly's factory as it declares it (safe, rank 2), drawing nothing. */
const otherPlotlyFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PLOTLY_MIME_TYPE],
  createRenderer: () => {
    const widget = new Widget() as Widget & IRenderMime.IRenderer;
    widget.renderModel = () => Promise.resolve();
    return widget;
  },
};

/** The default ranks of the renderers JupyterLab ships (@jupyterlab/rendermime's factories). */
function shippedRanks(): Map<string, number> {
  const file = require.resolve('@jupyterlab/rendermime/lib/factories.js', { paths: [REPO_ROOT] });
  const ranks = new Map<string, number>();
  for (const [, mimeTypes, rank] of readFileSync(file, 'utf8').matchAll(
    /mimeTypes: \[([^\]]*)\],\s*defaultRank: (\d+)/g,
  )) {
    for (const [, mimeType] of mimeTypes.matchAll(/'([^']+)'/g)) {
      ranks.set(mimeType, Number(rank));
    }
  }
  return ranks;
}

describe('the Plotly output factory', () => {
  it('renders the Plotly MIME type, safely, ranked before every renderer JupyterLab ships', () => {
    const factory = PlotlyOutput.createFactory();
    expect(factory.mimeTypes).toEqual([PLOTLY_MIME_TYPE]);
    expect(PLOTLY_MIME_TYPE).toBe('application/vnd.plotly.v1+json');
    // Safe: an untrusted output (a notebook opened, not run) is drawn too, as jupyterlab-plotly does.
    expect(factory.safe).toBe(true);
    expect(factory.defaultRank).toBe(PlotlyOutput.RANK);
    const ranks = shippedRanks();
    // The fallbacks the kernel sends with a chart are among them.
    expect(ranks.get('text/html')).toBe(50);
    expect(ranks.get('text/plain')).toBe(120);
    expect(ranks.size).toBeGreaterThanOrEqual(10);
    expect(PlotlyOutput.RANK).toBeLessThan(Math.min(...ranks.values()));
    const created = factory.createRenderer({ mimeType: PLOTLY_MIME_TYPE } as IRenderMime.IRendererOptions);
    expect(created).toBeInstanceOf(PlotlyOutput);
    created.dispose();
  });

  it('is added at its rank when nothing renders Plotly figures', () => {
    const rendermime = new Registry();
    expect(PlotlyOutput.register(rendermime)).toBe(true);
    const added = rendermime.factories.get(PLOTLY_MIME_TYPE)!;
    expect(added.rank).toBe(PlotlyOutput.RANK);
    expect(
      added.factory.createRenderer({ mimeType: PLOTLY_MIME_TYPE } as IRenderMime.IRendererOptions),
    ).toBeInstanceOf(PlotlyOutput);
  });

  it('leaves an installed jupyterlab-plotly in place, whether it registered before or after', () => {
    const before = new Registry();
    before.addFactory(otherPlotlyFactory, 2);
    expect(PlotlyOutput.register(before)).toBe(false);
    expect(before.factories.get(PLOTLY_MIME_TYPE)).toEqual({ factory: otherPlotlyFactory, rank: 2 });

    const after = new Registry();
    expect(PlotlyOutput.register(after)).toBe(true);
    after.addFactory(otherPlotlyFactory, 2);
    expect(after.factories.get(PLOTLY_MIME_TYPE)).toEqual({ factory: otherPlotlyFactory, rank: 2 });
  });
});

describe('the Plotly output renderer', () => {
  it('draws the figure through the loader, in the theme, on a copy of the data', async () => {
    const { output, plotly, load } = renderer();
    attach(output);
    const figure = tuneFigure();
    const saved = JSON.stringify(figure);
    await output.renderModel(outputModel(figure));
    expect(load).toHaveBeenCalledTimes(1);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const [root, data, layout, config] = plotly.react.mock.calls[0];
    expect(root).toBe(output.plotNode);
    expect(output.node.contains(root)).toBe(true);
    expect(root.classList.contains('jp-serverless-PlotlyOutput-plot')).toBe(true);
    expect(output.node.classList.contains('jp-serverless-PlotlyOutput')).toBe(true);
    expect(output.node.dataset['mimeType']).toBe(PLOTLY_MIME_TYPE);
    expect(data).toEqual(figure.data);
    expect(data).not.toBe(figure.data);
    expect(layout).toMatchObject({
      title: { text: 'Tuning' },
      template: { layout: { paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)' } },
    });
    expect(config).toMatchObject({ displaylogo: false });
    expect(output.errorText).toBe('');
    // Plotly writes into what it is given; the output's data (saved with the notebook) is left as it was.
    (layout as { title: { text: string } }).title.text = 'changed';
    expect(JSON.stringify(figure)).toBe(saved);
  });

  it('keeps the colors and the template the figure sets itself', () => {
    const theme = figureTheme(() => '');
    const own = parseFigure({ data: [], layout: { paper_bgcolor: '#123456', font: { color: 'red' } } });
    const ownTemplate = { layout: { plot_bgcolor: 'white' } };
    const templated = parseFigure({ data: [], layout: { template: ownTemplate } });
    if (!('figure' in own) || !('figure' in templated)) {
      throw new Error('expected figures');
    }
    const drawn = figureDraw(own.figure, theme, true).layout;
    // The figure's own values are layout attributes: Plotly puts them over the template's.
    expect(drawn).toMatchObject({ paper_bgcolor: '#123456', font: { color: 'red' } });
    expect(drawn.template).toEqual(themeTemplate(theme));
    expect(figureDraw(templated.figure, theme, true).layout.template).toEqual(ownTemplate);
  });

  it('uses the whole config of a trusted figure, only how an untrusted one looks', async () => {
    const figure = {
      ...tuneFigure(),
      config: { scrollZoom: true, plotlyServerURL: 'https://example.invalid', showLink: true },
    };
    const trusted = renderer();
    attach(trusted.output);
    await trusted.output.renderModel(outputModel(figure, true));
    expect(trusted.plotly.react.mock.calls[0][3]).toEqual({
      displaylogo: false,
      scrollZoom: true,
      plotlyServerURL: 'https://example.invalid',
      showLink: true,
    });
    const untrusted = renderer();
    attach(untrusted.output);
    await untrusted.output.renderModel(outputModel(figure, false));
    expect(untrusted.plotly.react.mock.calls[0][3]).toEqual({ displaylogo: false, scrollZoom: true });
  });

  it('draws a figure rendered before it was attached once it is', async () => {
    const { output, plotly } = renderer();
    await output.renderModel(outputModel(tuneFigure()));
    expect(plotly.react).not.toHaveBeenCalled();
    attach(output);
    await settle();
    await output.plotted;
    expect(plotly.react).toHaveBeenCalledTimes(1);
  });

  it.each([
    [
      'a string',
      'not json',
      /^Not a Plotly figure: expected an object with a "data" array of traces, got a string\.$/,
    ],
    ['an array', [1, 2], /got an array\.$/],
    ['no data', { layout: {} }, /^Not a Plotly figure: "data" must be an array of traces, got nothing\.$/],
    [
      'a trace that is no object',
      { data: [{ type: 'bar' }, 3] },
      /trace 1 of "data" is a number, not an object\.$/,
    ],
    [
      'a layout that is no object',
      { data: [], layout: 'wide' },
      /"layout" must be an object, got a string\.$/,
    ],
    ['a config that is no object', { data: [], config: [] }, /"config" must be an object, got an array\.$/],
  ])('shows %s as an error text, without loading Plotly', async (_what, value, message) => {
    const { output, plotly, load } = renderer();
    attach(output);
    await expect(output.renderModel(outputModel(value))).resolves.toBeUndefined();
    expect(output.errorText).toMatch(message);
    expect(output.node.classList.contains('jp-mod-error')).toBe(true);
    expect(output.plotNode.hidden).toBe(true);
    expect(load).not.toHaveBeenCalled();
    expect(plotly.react).not.toHaveBeenCalled();
  });

  it('redraws on new data (an error text, then a figure again) and on a theme change', async () => {
    const themeChanged = new Signal<object, string>({});
    const { output, plotly } = renderer({ themeChanged });
    attach(output);
    await output.renderModel(outputModel(tuneFigure()));
    await output.renderModel(outputModel({ data: 'none' }));
    expect(output.errorText).toMatch(/^Not a Plotly figure/);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const next = { data: [{ type: 'bar', x: [1], y: [2] }] };
    await output.renderModel(outputModel(next));
    expect(output.errorText).toBe('');
    expect(output.plotNode.hidden).toBe(false);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(plotly.react.mock.calls[1][1]).toEqual(next.data);

    themeChanged.emit('JupyterLab Dark');
    await settle();
    await output.plotted;
    expect(plotly.react).toHaveBeenCalledTimes(3);
    expect(plotly.react.mock.calls[2][1]).toEqual(next.data);
  });

  it('says so in the output when Plotly cannot be loaded or cannot draw the figure', async () => {
    const failing = new PlotlyOutput({
      mimeType: PLOTLY_MIME_TYPE,
      loadPlotly: () => Promise.reject(new Error('chunk failed')),
    });
    attach(failing);
    await failing.renderModel(outputModel(tuneFigure()));
    expect(failing.errorText).toBe('Plotly could not be loaded: chunk failed');

    const { output, plotly } = renderer();
    plotly.react.mockImplementationOnce(() => Promise.reject(new Error('bad trace')));
    attach(output);
    await output.renderModel(outputModel(tuneFigure()));
    expect(output.errorText).toBe('The Plotly figure could not be drawn: bad trace');
  });

  it('purges the plot when disposed', async () => {
    const { output, plotly } = renderer();
    attach(output);
    await output.renderModel(outputModel(tuneFigure()));
    const node = output.plotNode;
    expect(plotly.purge).not.toHaveBeenCalled();
    output.dispose();
    expect(plotly.purge).toHaveBeenCalledTimes(1);
    expect(plotly.purge).toHaveBeenCalledWith(node);
    output.dispose();
    expect(plotly.purge).toHaveBeenCalledTimes(1);
  });
});

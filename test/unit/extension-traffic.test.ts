/**
 * The gradient traffic view's data and figure (protocol v3): the exchanges
 * to pick from and the default one; bytes per round stacked by worker and
 * the compression ratio; rounds drawn in bins beyond the bar limit; the
 * exchange graph of a leader all-reduce (a star), a scatter-reduce (a mesh)
 * and a parameter server; the Plotly traces built, bounded at 16 workers ×
 * 1,000 rounds; the bars and the graph arranged for the chart's height,
 * node names beside the nodes.
 */
import { replayState } from '../../extension/src/model/fold';
import { exchangeKey } from '../../extension/src/model/exchange-state';
import { figureTheme } from '../../extension/src/views/figure-theme';
import {
  formatRatio,
  INNER_RADIUS,
  MAX_TRAFFIC_CELLS,
  nodeLabel,
  trafficChoices,
  trafficGraph,
  trafficShape,
} from '../../extension/src/views/shape';
import type { GraphNode, TrafficShape } from '../../extension/src/views/shape';
import { BASE_MARGIN } from '../../extension/src/views/figure-theme';
import {
  LEGEND_WORKERS,
  TRAFFIC_GAP_PX,
  TRAFFIC_MIN_HEIGHT_PX,
  trafficDomains,
  trafficFigure,
  workerColorVar,
} from '../../extension/src/views/traffic-figure';
import { EDGE_MAX_PX, edgeMaxPx, edgeWidth } from '../../extension/src/views/traffic-graph-figure';
import { EventScript, exchangeRun, ExchangeRunOptions } from './extension-fixtures';

/** A theme whose every color names its variable, so tests see which one was used. */
const theme = figureTheme((cssVar) => (cssVar.startsWith('--jp-ui-font-') ? '' : `color(${cssVar})`));

/** The traffic of one exchange run by run `r` (execution count 3). */
function shapeOf(options: ExchangeRunOptions, maxBars?: number): TrafficShape {
  const s = new EventScript();
  s.runStarted('r', { executionCount: 3 });
  exchangeRun(s, 'r', options);
  return trafficShape(replayState(s.take()), { maxBars });
}

function radius(n: GraphNode): number {
  return Math.hypot(n.x, n.y);
}

describe('trafficShape: the exchanges', () => {
  it('offers every exchange, the newest first, and shows the newest unless one is picked', () => {
    const s = new EventScript();
    s.runStarted('a', { executionCount: 3 });
    exchangeRun(s, 'a', { workers: 2, rounds: 2 });
    s.runStarted('b', { executionCount: 5 });
    exchangeRun(s, 'b', { workers: 2, rounds: 2, strategy: 'scatter-reduce' });
    exchangeRun(s, 'b', { exchange: 'state', workers: 2, rounds: 1, strategy: 'parameter-server' });
    const state = replayState(s.take());
    expect(trafficChoices(state)).toEqual([
      { key: exchangeKey('b', 'state'), label: '[5] state · parameter-server' },
      { key: exchangeKey('b', 'grads'), label: '[5] grads · scatter-reduce' },
      { key: exchangeKey('a', 'grads'), label: '[3] grads · allreduce' },
    ]);
    expect(trafficShape(state).exchange!.key).toBe(exchangeKey('b', 'state'));
    const picked = trafficShape(state, { key: exchangeKey('a', 'grads') });
    expect(picked.label).toBe('[3] grads · allreduce');
    expect(picked.totals.rounds).toBe(2);
    // A key that is gone: the newest.
    expect(trafficShape(state, { key: 'gone' }).exchange!.key).toBe(exchangeKey('b', 'state'));
  });
});

describe('trafficShape: rounds', () => {
  it('stacks each round by worker (by rank), with each bar the sum of its workers', () => {
    const shape = shapeOf({ workers: 4, rounds: 3, vectorBytes: 100, requestUsd: 0.0000004 });
    expect(shape.roundsPerBar).toBe(1);
    expect(shape.bars.x).toEqual([1, 2, 3]);
    expect(shape.bars.width).toEqual([0.8, 0.8, 0.8]);
    expect(shape.bars.rounds).toEqual([1, 1, 1]);
    expect(shape.workers.map((w) => w.label)).toEqual(['w0', 'w1', 'w2', 'w3']);
    // The leader reads the three others' vectors and writes the mean.
    expect(shape.workers.map((w) => w.bytes[0])).toEqual([400, 200, 200, 200]);
    expect(shape.workers[0].bytesDown).toEqual([300, 300, 300]);
    expect(shape.bars.bytes).toEqual([1000, 1000, 1000]);
    expect(shape.workers[2].durationMs).toEqual([13, 14, 12]);
    expect(shape.bars.durationMs).toEqual([14, 15, 13]);
    expect(shape.workers[1].requests).toEqual([2, 2, 2]);
    expect(shape.workers[1].storageUsd[0]).toBe(0.0000008);
    expect(shape.totals).toMatchObject({
      rounds: 3,
      parts: 12,
      requests: 24,
      ratio: 1,
      storageUsd: 0.0000096,
    });
  });

  it('gives the compression ratio per round, per worker and over the exchange', () => {
    const shape = shapeOf({ workers: 2, rounds: 2, ratio: 4, codec: 'topk:0.25' });
    expect(shape.bars.ratio).toEqual([4, 4]);
    expect(shape.workers[1].ratio).toEqual([4, 4]);
    expect(shape.totals.ratio).toBe(4);
    expect(formatRatio(4)).toBe('4.00×');
    expect(formatRatio(12.5)).toBe('12.5×');
    expect(formatRatio(null)).toBe('–');
    // A worker that moved nothing in a round has no ratio there.
    const s = new EventScript();
    s.exchange('r', 1, { rank: 0, workers: 2 }).exchange('r', 1, {
      rank: 1,
      workers: 2,
      bytesUp: 0,
      bytesDown: 0,
    });
    expect(trafficShape(replayState(s.take())).workers[1].ratio).toEqual([null]);
  });

  it('draws 16 workers × 1,000 rounds as bins of 8 rounds: means per round, every byte counted', () => {
    const shape = shapeOf({ workers: 16, rounds: 1000, strategy: 'scatter-reduce', vectorBytes: 1600 });
    // 3,000 cells / 16 workers: at most 187 bars; bins of 8 rounds give 126 (rounds 1-7, 8-15, ... 1000).
    expect(shape.roundsPerBar).toBe(8);
    expect(shape.bars.x).toHaveLength(126);
    expect(shape.workers.every((w) => w.bytes.length === 126)).toBe(true);
    expect(shape.workers.length * shape.bars.x.length).toBeLessThanOrEqual(MAX_TRAFFIC_CELLS);
    expect(shape.bars.x[0]).toBe(3.5);
    expect(shape.bars.width[0]).toBeCloseTo(8 * 0.92);
    expect([shape.bars.firstRound[0], shape.bars.lastRound[0], shape.bars.rounds[0]]).toEqual([1, 7, 7]);
    expect([shape.bars.firstRound[125], shape.bars.lastRound[125], shape.bars.rounds[125]]).toEqual([
      1000, 1000, 1,
    ]);
    const drawn = shape.bars.bytes.reduce((sum, b, i) => sum + b * shape.bars.rounds[i], 0);
    expect(drawn).toBeCloseTo(shape.totals.bytesUp + shape.totals.bytesDown, 3);
    expect(shape.totals.rounds).toBe(1000);
    // Fewer bars when asked (a narrow panel).
    expect(shapeOf({ workers: 2, rounds: 100 }, 30).bars.x.length).toBeLessThanOrEqual(30);
  });

  it('draws bins of the fold (rounds paired up) as bins of at least as many rounds', () => {
    const shape = shapeOf({ workers: 4, rounds: 3000, vectorBytes: 8 });
    expect(shape.exchange!.binWidth).toBe(4);
    expect(shape.roundsPerBar).toBe(16);
    expect(shape.bars.x.length).toBeLessThanOrEqual(200);
    expect(shape.totals.rounds).toBe(3000);
    expect(shape.bars.rounds[1]).toBe(16);
  });
});

describe('trafficGraph', () => {
  it('draws a leader all-reduce as a star: the leader in the middle, an edge from each worker', () => {
    const { graph } = shapeOf({ workers: 4, rounds: 2, vectorBytes: 100 });
    expect(graph.layout).toBe('star');
    const leader = graph.nodes.find((n) => n.id === 'worker:0')!;
    expect(leader).toMatchObject({ kind: 'leader', x: 0, y: 0 });
    // Every worker wrote its vector towards the leader, the leader its mean.
    expect([leader.bytesIn, leader.bytesOut]).toEqual([800, 1200]);
    const others = graph.nodes.filter((n) => n.id !== 'worker:0');
    expect(others.map((n) => n.kind)).toEqual(['worker', 'worker', 'worker']);
    others.forEach((n) => expect(radius(n)).toBeCloseTo(1));
    expect(graph.edges.map((e) => [e.a, e.b, e.bytes, e.links.length])).toEqual([
      ['worker:0', 'worker:1', 400, 1],
      ['worker:0', 'worker:2', 400, 1],
      ['worker:0', 'worker:3', 400, 1],
    ]);
    // The leader's own part is a link to itself: in its sums, not drawn.
    expect(graph.selfLinks).toBe(1);
  });

  it('draws a scatter-reduce as a mesh: every pair of workers, both directions on one edge', () => {
    const { graph } = shapeOf({ workers: 4, rounds: 2, strategy: 'scatter-reduce', vectorBytes: 400 });
    expect(graph.layout).toBe('mesh');
    expect(graph.nodes.map((n) => n.kind)).toEqual([
      'shard-owner',
      'shard-owner',
      'shard-owner',
      'shard-owner',
    ]);
    graph.nodes.forEach((n) => expect(radius(n)).toBeCloseTo(1));
    // Clockwise from the top.
    expect(graph.nodes.map((n) => [n.x, n.y])).toEqual([
      [0, 1],
      [1, 0],
      [0, -1],
      [-1, 0],
    ]);
    expect(graph.edges).toHaveLength(6);
    expect(graph.edges.every((e) => e.links.length === 2 && e.bytes === 800)).toBe(true);
    expect(graph.selfLinks).toBe(4);
  });

  it('puts parameter-server shards inside the circle of workers (one shard in the middle)', () => {
    const { graph } = shapeOf({ workers: 3, rounds: 2, strategy: 'parameter-server', shards: 2 });
    expect(graph.layout).toBe('parameter-server');
    const shards = graph.nodes.filter((n) => n.kind === 'ps');
    expect(shards.map((n) => n.id)).toEqual(['ps:0', 'ps:1']);
    shards.forEach((n) => expect(radius(n)).toBeCloseTo(INNER_RADIUS));
    // 3 workers × 2 rounds × half of a 4,000-byte vector, each way.
    expect(shards[0]).toMatchObject({ bytesIn: 12_000, bytesOut: 12_000 });
    expect(graph.edges).toHaveLength(6);
    const one = shapeOf({ workers: 2, rounds: 1, strategy: 'parameter-server', shards: 1 }).graph;
    expect(one.nodes.find((n) => n.id === 'ps:0')).toMatchObject({ x: 0, y: 0 });
    expect(trafficGraph(null)).toEqual({
      layout: 'none',
      nodes: [],
      edges: [],
      selfLinks: 0,
      droppedLinks: 0,
    });
    expect([nodeLabel('worker:12'), nodeLabel('ps:3'), nodeLabel('other')]).toEqual(['w12', 'ps3', 'other']);
  });
});

describe('trafficFigure', () => {
  it('has a bar trace per worker, the ratio on a second axis and the graph on axes of its own', () => {
    const shape = shapeOf({ workers: 4, rounds: 3, vectorBytes: 100, ratio: 2 });
    const { data, layout, legend } = trafficFigure(shape, theme);
    expect(data.map((t) => [t.type, t.name, t.xaxis ?? 'x', t.yaxis ?? 'y'])).toEqual([
      ['bar', 'w0', 'x', 'y'],
      ['bar', 'w1', 'x', 'y'],
      ['bar', 'w2', 'x', 'y'],
      ['bar', 'w3', 'x', 'y'],
      ['scatter', 'compression ratio', 'x', 'y2'],
      ['scatter', `edges ${EDGE_MAX_PX}px`, 'x2', 'y3'],
      ['scatter', 'edge hover', 'x2', 'y3'],
      ['scatter', 'nodes', 'x2', 'y3'],
    ]);
    expect(data[1].y).toEqual([100, 100, 100]);
    expect(data[1].marker?.color).toBe(`color(${workerColorVar(1)})`);
    expect(data[4].y).toEqual([2, 2, 2]);
    expect((data[2].hovertext as string[])[1].split('<br>')).toEqual([
      '<b>worker:2</b> · round 2',
      'up 50 B · down 50 B',
      'ratio 2.00× · 2 requests · storage $0',
      '14 ms',
    ]);
    expect((data[4].hovertext as string[])[0].split('<br>')).toEqual([
      '<b>round 1</b>',
      'all workers: 500 B per round',
      'ratio 2.00× · slowest worker 14 ms',
    ]);
    // The star: three edges of the same bytes, all the widest.
    expect(data[5].x).toEqual([0, 0, null, 0, 0.866025, null, 0, -0.866025, null]);
    expect(data[5].line?.width).toBe(EDGE_MAX_PX);
    expect((data[6].hovertext as string[])[0].split('<br>')).toEqual([
      '<b>w0 – w1</b>',
      'w1 via w0: up 150 B · down 150 B · 3 rounds',
      '300 B in all',
    ]);
    expect(data[7].text).toEqual(['w1', 'w2', 'w3', 'w0']);
    expect((data[7].marker as { symbol: string[] }).symbol).toEqual([
      'circle',
      'circle',
      'circle',
      'diamond',
    ]);
    expect((data[7].hovertext as string[])[3].split('<br>')[0]).toBe('<b>worker:0</b> · leader');
    expect(layout.barmode).toBe('stack');
    // Room above the ratio, so a constant one is not drawn on the plot's top edge.
    expect(layout.yaxis2).toMatchObject({ overlaying: 'y', side: 'right', range: [0, 2 * 1.15] });
    expect(layout.yaxis3).toMatchObject({ anchor: 'x2', scaleanchor: 'x2', visible: false });
    expect(layout.xaxis2).toMatchObject({ anchor: 'y3', visible: false });
    expect(layout.uirevision).toBe(shape.exchange!.key);
    expect(legend.map((l) => [l.label, l.kind])).toEqual([
      ['w0', 'fill'],
      ['w1', 'fill'],
      ['w2', 'fill'],
      ['w3', 'fill'],
      ['compression ratio', 'line'],
    ]);
  });

  it('sizes edges by bytes, in a few traces however many edges', () => {
    expect([edgeWidth(0, 100), edgeWidth(50, 100), edgeWidth(100, 100), edgeWidth(5, 0)]).toEqual([
      1, 5, 8, 1,
    ]);
    // Many edges (a mesh) are drawn thinner.
    expect([edgeMaxPx(3), edgeMaxPx(16), edgeMaxPx(120), edgeMaxPx(2016)]).toEqual([8, 8, 3, 2]);
    expect(edgeWidth(100, 100, 3)).toBe(3);
    const s = new EventScript();
    // Worker k sends k + 1 times as much to the leader.
    for (let rank = 1; rank < 8; rank++) {
      s.exchange('r', 1, {
        rank,
        workers: 8,
        links: [{ node: 'worker:0', bytesUp: rank * 100, bytesDown: 0 }],
      });
    }
    const { data } = trafficFigure(trafficShape(replayState(s.take())), theme);
    const widths = data.filter((t) => t.name?.startsWith('edges ')).map((t) => t.line?.width);
    expect(widths).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('stays bounded at 16 workers × 1,000 rounds: traces and points', () => {
    const s = new EventScript();
    s.runStarted('big', { executionCount: 1 });
    exchangeRun(s, 'big', { workers: 16, rounds: 1000, strategy: 'scatter-reduce', ratio: 2 });
    const state = replayState(s.take());
    const figure = trafficFigure(trafficShape(state), theme);
    const { data, legend } = figure;
    const points = data.reduce((sum, t) => sum + (t.x as unknown[]).length, 0);
    // 16 bar traces of 126 bars, the ratio, the mesh's 120 edges in one width, their hover, 16 nodes.
    expect(data).toHaveLength(16 + 1 + 1 + 1 + 1);
    expect(data[17].name).toBe('edges 3px');
    expect(points).toBe(16 * 126 + 126 + 120 * 3 + 120 + 16);
    expect(points).toBeLessThan(MAX_TRAFFIC_CELLS + 1000);
    expect(legend).toHaveLength(LEGEND_WORKERS + 2);
    expect(legend[LEGEND_WORKERS].label).toBe('+6 workers');
  });

  it('keeps the round axis and the graph caption between the bars and the graph at any height', () => {
    const shape = shapeOf({ workers: 4, rounds: 3, strategy: 'scatter-reduce' });
    const plotPx = (height: number) => height - BASE_MARGIN.t - BASE_MARGIN.b;
    for (const height of [TRAFFIC_MIN_HEIGHT_PX, 400, 900]) {
      const { bars, graph } = trafficDomains(height);
      // The same gap in pixels, the bars above it, the graph below, each with room of its own.
      expect((bars[0] - graph[1]) * plotPx(height)).toBeCloseTo(TRAFFIC_GAP_PX, 6);
      expect(bars[1]).toBe(1);
      expect(graph[0]).toBe(0);
      expect(graph[1] * plotPx(height)).toBeGreaterThan(50);
      expect((1 - bars[0]) * plotPx(height)).toBeGreaterThan(graph[1] * plotPx(height));
      const { layout } = trafficFigure(shape, theme, undefined, height);
      expect(layout.height).toBeUndefined();
      expect(layout.yaxis?.domain).toEqual(bars);
      expect((layout as { yaxis3?: { domain?: number[] } }).yaxis3?.domain).toEqual(graph);
      // The caption sits on the graph's top.
      expect(layout.annotations?.[0]).toMatchObject({ y: graph[1], yanchor: 'bottom' });
    }
    // A lower chart than the floor is arranged as the floor (its view scrolls).
    expect(trafficDomains(100)).toEqual(trafficDomains(TRAFFIC_MIN_HEIGHT_PX));
    // Arranged for a lower chart than drawn: a wider gap, never a narrower one.
    const drawnHigher = (trafficDomains(300).bars[0] - trafficDomains(300).graph[1]) * plotPx(500);
    expect(drawnHigher).toBeGreaterThan(TRAFFIC_GAP_PX);
  });

  it("writes node names beside the nodes (above or below, the graph's axes would clip them)", () => {
    const positions = (options: ExchangeRunOptions) => {
      const { data } = trafficFigure(shapeOf(options), theme);
      const nodes = data.find((t) => t.name === 'nodes')!;
      return Object.fromEntries(
        (nodes.text as string[]).map((name, i) => [name, (nodes.textposition as unknown as string[])[i]]),
      );
    };
    // A mesh: w0 on top, w2 at the bottom.
    expect(positions({ workers: 4, rounds: 1, strategy: 'scatter-reduce' })).toEqual({
      w0: 'middle right',
      w1: 'middle right',
      w2: 'middle right',
      w3: 'middle left',
    });
    // A star: the leader in the middle, its name between two of its edges, below (away from
    // the top node's name): straight down between 3 workers, down right between 4.
    expect(positions({ workers: 4, rounds: 1 })).toEqual({
      w0: 'bottom center',
      w1: 'middle right',
      w2: 'middle right',
      w3: 'middle left',
    });
    expect(positions({ workers: 5, rounds: 1 })).toMatchObject({ w0: 'bottom right' });
    expect(positions({ workers: 3, rounds: 1 })).toMatchObject({ w0: 'middle right' });
    expect(positions({ workers: 2, rounds: 1 })).toMatchObject({ w0: 'bottom center' });
  });
});

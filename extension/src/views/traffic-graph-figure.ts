/**
 * The exchange graph as Plotly scatter traces on their own axes (`x2`,
 * `y3`): edges as lines whose width follows the bytes they carried (one
 * trace per width, so the traces stay few however many edges there are),
 * an invisible marker in the middle of each edge for its hover text, and
 * the nodes as markers with their short names.
 */
import type { PlotData } from 'plotly.js';

import { picoToUsd } from '../telemetry';
import type { IFigureTheme } from './figure-theme';
import { escapePlotly, formatBytes, formatMs, formatUsd, ITrans, NO_TRANS } from './shape';
import { compressionRatio, formatRatio, nodeLabel } from './shape';
import type { GraphEdge, GraphLayout, GraphNode, TrafficGraph } from './shape';

/** The widest edge, px (the edge that carried the most bytes), in a graph of a few edges. */
export const EDGE_MAX_PX = 8;

/** The widest edge of a graph of `edges` edges, px: narrower when there are many (a mesh). */
export function edgeMaxPx(edges: number): number {
  return Math.max(2, Math.min(EDGE_MAX_PX, Math.round(EDGE_MAX_PX * Math.sqrt(16 / Math.max(1, edges)))));
}

/** The axes the graph is drawn on. */
export const GRAPH_AXES = { xaxis: 'x2', yaxis: 'y3' } as const;

/** Options of {@link graphTraces}. */
export interface GraphTraceOptions {
  /** The color of a worker's node (its bars' color); undefined: a neutral color. */
  workerColor: (id: string) => string | undefined;
  trans?: ITrans;
}

/** What the graph's layout is called under the graph. */
export function graphLayoutLabel(layout: GraphLayout, trans: ITrans = NO_TRANS): string {
  switch (layout) {
    case 'star':
      return trans.__('star: leader all-reduce');
    case 'parameter-server':
      return trans.__('parameter-server shards inside');
    case 'mesh':
      return trans.__('mesh: scatter-reduce');
    default:
      return trans.__('no links');
  }
}

/**
 * The width of an edge that carried `bytes` when the most any edge carried
 * is `max`, px, `widest` px at most.
 */
export function edgeWidth(bytes: number, max: number, widest = EDGE_MAX_PX): number {
  return max > 0 ? 1 + Math.round(((widest - 1) * bytes) / max) : 1;
}

/** The graph's traces: edges by width, their hover markers, then the nodes. */
export function graphTraces(
  graph: TrafficGraph,
  theme: IFigureTheme,
  options: GraphTraceOptions,
): Partial<PlotData>[] {
  const trans = options.trans ?? NO_TRANS;
  if (graph.nodes.length === 0) {
    return [];
  }
  const at = new Map(graph.nodes.map((n) => [n.id, n]));
  const max = graph.edges.reduce((m, e) => Math.max(m, e.bytes), 0);
  const widest = edgeMaxPx(graph.edges.length);
  const byWidth = new Map<number, { x: (number | null)[]; y: (number | null)[] }>();
  const mid = { x: [] as number[], y: [] as number[], text: [] as string[] };
  for (const edge of graph.edges) {
    const a = at.get(edge.a);
    const b = at.get(edge.b);
    if (!a || !b) {
      continue;
    }
    const width = edgeWidth(edge.bytes, max, widest);
    let line = byWidth.get(width);
    if (!line) {
      line = { x: [], y: [] };
      byWidth.set(width, line);
    }
    line.x.push(a.x, b.x, null);
    line.y.push(a.y, b.y, null);
    mid.x.push((a.x + b.x) / 2);
    mid.y.push((a.y + b.y) / 2);
    mid.text.push(edgeHover(edge, trans));
  }
  const edgeColor = theme.solid('--jp-ui-font-color3');
  const traces: Partial<PlotData>[] = [...byWidth]
    .sort(([a], [b]) => a - b)
    .map(([width, line]) => ({
      type: 'scatter',
      mode: 'lines',
      name: `edges ${width}px`,
      ...GRAPH_AXES,
      x: line.x,
      y: line.y,
      line: { width, color: edgeColor },
      // Edges that cross (a mesh) stay readable.
      opacity: 0.7,
      hoverinfo: 'skip',
      showlegend: false,
    }));
  if (mid.x.length > 0) {
    traces.push({
      type: 'scatter',
      mode: 'markers',
      name: 'edge hover',
      ...GRAPH_AXES,
      x: mid.x,
      y: mid.y,
      hovertext: mid.text,
      hoverinfo: 'text',
      marker: { size: 12, color: 'rgba(0,0,0,0)' },
      showlegend: false,
    });
  }
  const carried = graph.nodes.reduce((m, n) => Math.max(m, n.carried), 0);
  const neutral = theme.solid('--jp-ui-font-color2');
  traces.push({
    type: 'scatter',
    mode: 'text+markers',
    name: 'nodes',
    ...GRAPH_AXES,
    x: graph.nodes.map((n) => n.x),
    y: graph.nodes.map((n) => n.y),
    text: graph.nodes.map((n) => escapePlotly(nodeLabel(n.id))),
    // Plotly takes a position per point; its types declare only one.
    textposition: labelPositions(graph.nodes) as unknown as PlotData['textposition'],
    hovertext: graph.nodes.map((n) => nodeHover(n, trans)),
    hoverinfo: 'text',
    marker: {
      size: graph.nodes.map((n) => 10 + (carried > 0 ? Math.round(12 * Math.sqrt(n.carried / carried)) : 0)),
      color: graph.nodes.map((n) => (n.kind === 'ps' ? neutral : (options.workerColor(n.id) ?? neutral))),
      symbol: graph.nodes.map((n) =>
        n.kind === 'ps' ? 'square' : n.kind === 'leader' ? 'diamond' : 'circle',
      ),
      line: { width: 1, color: theme.color('--jp-layout-color1') },
    },
    textfont: { color: theme.color('--jp-ui-font-color1') },
    showlegend: false,
  });
  return traces;
}

type TextPosition = NonNullable<PlotData['textposition']>;

/** Plotly's text positions around a marker, counter-clockwise from the right, a step of 45°. */
const AROUND: readonly TextPosition[] = [
  'middle right',
  'top right',
  'top center',
  'top left',
  'middle left',
  'bottom left',
  'bottom center',
  'bottom right',
];

/**
 * Where a node's name goes: beside it, outwards from the middle (above or
 * below the top and bottom nodes it would leave the graph's axes, which clip
 * it when the graph is low). The middle node's (a leader, a single shard)
 * goes between two of its edges, in the widest gap between them, the one
 * lowest on the right: away from the top node's name.
 */
function labelPositions(nodes: readonly GraphNode[]): TextPosition[] {
  const ring = nodes.filter((n) => Math.hypot(n.x, n.y) > 0).map((n) => Math.atan2(n.y, n.x));
  const middle = middlePosition(ring);
  return nodes.map((n) => (Math.hypot(n.x, n.y) === 0 ? middle : n.x >= 0 ? 'middle right' : 'middle left'));
}

/** The text position of the middle node, whose edges go at `angles` (radians). */
function middlePosition(angles: number[]): TextPosition {
  const TURN = 2 * Math.PI;
  const preferred = (5 / 3) * Math.PI; // lower right
  const sorted = angles.map((a) => (a + TURN) % TURN).sort((a, b) => a - b);
  let best = { gap: -1, mid: preferred };
  sorted.forEach((a, i) => {
    const next = i + 1 < sorted.length ? sorted[i + 1] : sorted[0] + TURN;
    const gap = next - a;
    const mid = (a + gap / 2) % TURN;
    const off = (m: number) => Math.min(Math.abs(m - preferred), TURN - Math.abs(m - preferred));
    // Gaps equal but for the rounding of the places count as equal.
    if (gap > best.gap + 1e-3 || (Math.abs(gap - best.gap) <= 1e-3 && off(mid) < off(best.mid))) {
      best = { gap, mid };
    }
  });
  return AROUND[Math.round(best.mid / (Math.PI / 4)) % AROUND.length];
}

function kindLabel(node: GraphNode, trans: ITrans): string {
  switch (node.kind) {
    case 'leader':
      return trans.__('leader');
    case 'shard-owner':
      return trans.__('shard owner');
    case 'ps':
      return trans.__('parameter-server shard');
    default:
      return trans.__('worker');
  }
}

function nodeHover(node: GraphNode, trans: ITrans): string {
  const lines = [`<b>${escapePlotly(node.id)}</b> · ${kindLabel(node, trans)}`];
  const s = node.sums;
  if (s) {
    const ratio = compressionRatio(s.rawBytes, s.bytesUp + s.bytesDown);
    lines.push(
      trans.__('up %1 · down %2 in %3 rounds', formatBytes(s.bytesUp), formatBytes(s.bytesDown), s.parts),
      trans.__(
        'ratio %1 · %2 requests · storage %3',
        formatRatio(ratio),
        s.requests,
        formatUsd(picoToUsd(s.storagePico)),
      ),
      trans.__('%1 per round', formatMs(s.parts > 0 ? s.durationMs / s.parts : 0)),
    );
  }
  if (node.bytesIn > 0 || node.bytesOut > 0) {
    lines.push(
      trans.__('workers wrote %1 to it, read %2', formatBytes(node.bytesIn), formatBytes(node.bytesOut)),
    );
  }
  return lines.join('<br>');
}

function edgeHover(edge: GraphEdge, trans: ITrans): string {
  const lines = [`<b>${escapePlotly(nodeLabel(edge.a))} – ${escapePlotly(nodeLabel(edge.b))}</b>`];
  for (const link of edge.links) {
    lines.push(
      trans.__(
        '%1 via %2: up %3 · down %4 · %5 rounds',
        escapePlotly(nodeLabel(link.worker)),
        escapePlotly(nodeLabel(link.node)),
        formatBytes(link.bytesUp),
        formatBytes(link.bytesDown),
        link.parts,
      ),
    );
  }
  lines.push(trans.__('%1 in all', formatBytes(edge.bytes)));
  return lines.join('<br>');
}

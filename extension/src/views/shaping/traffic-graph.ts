/**
 * The exchange graph as data: its nodes (workers, parameter-server shards)
 * placed on circles, and its edges (the links workers used, both directions
 * of a pair of nodes as one edge) with the bytes they carried. A leader
 * all-reduce, where every worker links to one worker, is drawn as a star
 * with the leader in the middle; parameter-server shards sit on an inner
 * circle (in the middle when there is one); anything else, a scatter-reduce
 * mesh included, has its workers on one circle.
 */
import type { ExchangeEdge, ExchangeRecord, TrafficSums } from '../../model/state';

/** What a node is in the exchange. */
export type GraphNodeKind = 'worker' | 'leader' | 'shard-owner' | 'ps';

/** A node of the graph. */
export interface GraphNode {
  /** `worker:<rank>` or `ps:<shard>`. */
  readonly id: string;
  readonly kind: GraphNodeKind;
  /** Its place, on a circle of radius 1 (or the inner one, or the middle). */
  readonly x: number;
  readonly y: number;
  /** A worker's own sums over every round (absent for a parameter-server shard). */
  readonly sums?: TrafficSums;
  /** Bytes workers sent towards it and read from it on their links (its own links included). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Bytes on the edges drawn at it (both ends, both directions). */
  readonly carried: number;
}

/** An edge drawn between two nodes: the links of both directions between them. */
export interface GraphEdge {
  /** The nodes' ids, `a` before `b` in the node order. */
  readonly a: string;
  readonly b: string;
  /** Bytes carried, both directions. */
  readonly bytes: number;
  /** The links it stands for (one, or two: a worker's towards the other and back). */
  readonly links: readonly ExchangeEdge[];
}

/** How the graph is laid out. */
export type GraphLayout = 'none' | 'star' | 'parameter-server' | 'mesh';

/** The graph of an exchange. */
export interface TrafficGraph {
  readonly layout: GraphLayout;
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
  /** Links a worker used to reach its own node (a leader's own part): not drawn, in its node's sums. */
  readonly selfLinks: number;
  /** Links the fold left out (see `ExchangeRecord.droppedLinks`). */
  readonly droppedLinks: number;
}

/** The radius of the circle parameter-server shards sit on. */
export const INNER_RADIUS = 0.45;

/** The graph of `exchange` (an empty one for null). */
export function trafficGraph(exchange: ExchangeRecord | null): TrafficGraph {
  if (!exchange) {
    return { layout: 'none', nodes: [], edges: [], selfLinks: 0, droppedLinks: 0 };
  }
  const workers = new Map<string, TrafficSums | undefined>();
  for (const w of exchange.workers) {
    workers.set(w.id, w);
  }
  const shards = new Set<string>();
  const targets = new Set<string>();
  const flows = new Map<string, { in: number; out: number }>();
  const flow = (id: string) => {
    let f = flows.get(id);
    if (!f) {
      f = { in: 0, out: 0 };
      flows.set(id, f);
    }
    return f;
  };
  const pairs = new Map<string, { a: string; b: string; bytes: number; links: ExchangeEdge[] }>();
  let selfLinks = 0;
  const pending: ExchangeEdge[] = [];
  for (const edge of exchange.edges.values()) {
    if (edge.node.startsWith('ps:')) {
      shards.add(edge.node);
    } else if (!workers.has(edge.node)) {
      workers.set(edge.node, undefined);
    }
    const f = flow(edge.node);
    f.in += edge.bytesUp;
    f.out += edge.bytesDown;
    if (edge.node === edge.worker) {
      selfLinks += 1;
      continue;
    }
    targets.add(edge.node);
    pending.push(edge);
  }
  const workerIds = [...workers.keys()].sort(byNumber);
  const shardIds = [...shards].sort(byNumber);
  const order = new Map<string, number>([...workerIds, ...shardIds].map((id, i) => [id, i]));
  for (const edge of pending) {
    const [a, b] =
      (order.get(edge.worker) ?? 0) <= (order.get(edge.node) ?? 0)
        ? [edge.worker, edge.node]
        : [edge.node, edge.worker];
    const key = `${a}\u0000${b}`;
    let pair = pairs.get(key);
    if (!pair) {
      pair = { a, b, bytes: 0, links: [] };
      pairs.set(key, pair);
    }
    pair.bytes += edge.bytesUp + edge.bytesDown;
    pair.links.push(edge);
  }
  const layout: GraphLayout =
    pending.length === 0
      ? 'none'
      : shardIds.length > 0
        ? 'parameter-server'
        : targets.size === 1
          ? 'star'
          : 'mesh';
  const hub = layout === 'star' ? [...targets][0] : undefined;
  const carried = new Map<string, number>();
  for (const pair of pairs.values()) {
    carried.set(pair.a, (carried.get(pair.a) ?? 0) + pair.bytes);
    carried.set(pair.b, (carried.get(pair.b) ?? 0) + pair.bytes);
  }
  const ring = workerIds.filter((id) => id !== hub);
  const nodes: GraphNode[] = [];
  const place = (id: string, kind: GraphNodeKind, [x, y]: [number, number]) => {
    const f = flows.get(id);
    const sums = workers.get(id);
    nodes.push({
      id,
      kind,
      x,
      y,
      ...(sums ? { sums } : {}),
      bytesIn: f?.in ?? 0,
      bytesOut: f?.out ?? 0,
      carried: carried.get(id) ?? 0,
    });
  };
  ring.forEach((id, i) => place(id, targets.has(id) ? 'shard-owner' : 'worker', onCircle(i, ring.length, 1)));
  if (hub !== undefined) {
    place(hub, 'leader', [0, 0]);
  }
  shardIds.forEach((id, i) =>
    place(id, 'ps', shardIds.length === 1 ? [0, 0] : onCircle(i, shardIds.length, INNER_RADIUS)),
  );
  return {
    layout,
    nodes,
    edges: [...pairs.values()],
    selfLinks,
    droppedLinks: exchange.droppedLinks,
  };
}

/** The `i`th of `n` places on a circle of `radius`, from the top, clockwise. */
function onCircle(i: number, n: number, radius: number): [number, number] {
  const angle = Math.PI / 2 - (2 * Math.PI * i) / Math.max(1, n);
  // Rounded: the same place reads the same in tests and in hover positions.
  return [round6(radius * Math.cos(angle)), round6(radius * Math.sin(angle))];
}

function round6(v: number): number {
  const r = Math.round(v * 1e6) / 1e6;
  return r === 0 ? 0 : r;
}

/** Orders `worker:2` before `worker:10`, then other ids as strings. */
function byNumber(a: string, b: string): number {
  const na = Number(a.slice(a.indexOf(':') + 1));
  const nb = Number(b.slice(b.indexOf(':') + 1));
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) {
    return na - nb;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

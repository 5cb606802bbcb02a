/**
 * The views' data shaping: pure functions from a {@link TelemetryState} to
 * what the timeline, traffic, training, cost and status bar views draw. Views call them
 * when the model's `changed` fires and hand the result to Plotly or the DOM.
 */
export { escapePlotly, formatBytes, formatMs, formatUsd, NO_TRANS, oneLine } from './shaping/common';
export type { ITrans } from './shaping/common';
export { BAR_STYLES, barHover, barLabel, hoverKey, QUEUE_ROW, timelineShape } from './shaping/timeline';
export type {
  BarSource,
  BarState,
  BarStyle,
  RunBand,
  TimelineOptions,
  TimelineRow,
  TimelineSeries,
  TimelineShape,
} from './shaping/timeline';
export { DEFAULT_PLOT_WIDTH_PX, MAX_DRAWN_BARS, timelineTraces } from './shaping/plotly';
export type { TimelineTrace, TimelineTraceOptions } from './shaping/plotly';
export {
  compressionRatio,
  formatRatio,
  MAX_TRAFFIC_BARS,
  MAX_TRAFFIC_CELLS,
  MIN_TRAFFIC_BARS,
  nodeLabel,
  TRAFFIC_EMPTY_TEXT,
  trafficChoices,
  trafficShape,
} from './shaping/traffic';
export type {
  TrafficBars,
  TrafficChoice,
  TrafficOptions,
  TrafficShape,
  TrafficWorkerSeries,
} from './shaping/traffic';
export { INNER_RADIUS, trafficGraph } from './shaping/traffic-graph';
export type { GraphEdge, GraphLayout, GraphNode, GraphNodeKind, TrafficGraph } from './shaping/traffic-graph';
export {
  formatAccuracy,
  formatLoss,
  formatRate,
  formatSeconds,
  MAX_TRAINING_BARS,
  TRAINING_EMPTY_TEXT,
  trainingChoices,
  trainingShape,
} from './shaping/training';
export type {
  TrainingChoice,
  TrainingCostBars,
  TrainingOptions,
  TrainingSeries,
  TrainingShape,
} from './shaping/training';
export { COST_PARTS, costPartLabel, costShape, runCostRows, thinned } from './shaping/cost';
export type { CostOptions, CostPart, CostShape, RunCostRow } from './shaping/cost';
export { statusShape } from './shaping/status';
export type { StatusOptions, StatusShape } from './shaping/status';

/**
 * The views' data shaping: pure functions from a {@link TelemetryState} to
 * what the timeline, traffic, cost and status bar views draw. Views call them
 * when the model's `changed` fires and hand the result to Plotly or the DOM.
 */
export { escapePlotly, formatBytes, formatMs, formatUsd, NO_TRANS, oneLine } from './shaping/common';
export type { ITrans } from './shaping/common';
export { BAR_STYLES, barLabel, QUEUE_ROW, timelineShape } from './shaping/timeline';
export type {
  BarState,
  BarStyle,
  RunBand,
  TimelineOptions,
  TimelineRow,
  TimelineSeries,
  TimelineShape,
} from './shaping/timeline';
export { GL_THRESHOLD, timelineTraces } from './shaping/plotly';
export type { TimelineTrace } from './shaping/plotly';
export { TRAFFIC_EMPTY_TEXT, trafficShape } from './shaping/traffic';
export type { TrafficRound, TrafficShape, TrafficTotal } from './shaping/traffic';
export { COST_PARTS, costPartLabel, costShape, runCostRows } from './shaping/cost';
export type { CostOptions, CostPart, CostShape, RunCostRow } from './shaping/cost';
export { statusShape } from './shaping/status';
export type { StatusOptions, StatusShape } from './shaping/status';

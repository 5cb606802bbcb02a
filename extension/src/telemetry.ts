/**
 * The telemetry protocol, shared with the kernel: the package subpath
 * `serverless-kernel/telemetry` (browser-safe: it imports nothing from Node)
 * defines the comm target, the event types, their guards and the money
 * helpers for both sides.
 */
export {
  TELEMETRY_TARGET,
  TELEMETRY_PROTOCOL_VERSION,
  isTelemetryEvent,
  parseTelemetryMessage,
  addUsd,
  formatUsd,
  picoToUsd,
  usdToPico,
} from 'serverless-kernel/telemetry';
export type {
  TelemetryEvent,
  TelemetryEventType,
  TelemetryMessage,
  TelemetryRequest,
  AttemptCost,
  CostSplit,
  CostTotals,
  RunStatus,
  InvocationStatus,
  RunStartedEvent,
  RunFinishedEvent,
  InvocationQueuedEvent,
  InvocationStartedEvent,
  InvocationFinishedEvent,
  InvocationLateErrorEvent,
  CostTotalsEvent,
  ExchangeRoundEvent,
  ExchangeLink,
  ExchangeStrategy,
  TrainingEpochEvent,
  EventsMessage,
  ReplayMessage,
} from 'serverless-kernel/telemetry';

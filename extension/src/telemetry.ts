/**
 * The telemetry protocol, shared with the kernel: one module
 * (`serverless-kernel`'s telemetry/events, which imports nothing from Node)
 * defines the comm target, the event types and their guards for both sides.
 */
export {
  TELEMETRY_TARGET,
  TELEMETRY_PROTOCOL_VERSION,
  isTelemetryEvent,
  parseTelemetryMessage,
} from 'serverless-kernel/dist/src/telemetry/events';
export type {
  TelemetryEvent,
  TelemetryEventType,
  TelemetryMessage,
  TelemetryRequest,
  CostTotals,
  RunStatus,
  InvocationStatus,
  RunStartedEvent,
  RunFinishedEvent,
  InvocationQueuedEvent,
  InvocationStartedEvent,
  InvocationFinishedEvent,
  CostTotalsEvent,
  ExchangeRoundEvent,
  EventsMessage,
  ReplayMessage,
} from 'serverless-kernel/dist/src/telemetry/events';

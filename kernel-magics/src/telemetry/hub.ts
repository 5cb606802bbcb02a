/**
 * The kernel's telemetry hub: stamps events, keeps a bounded history (three
 * lanes: `exchange-round` and `training-epoch` events each in their own, see
 * `./history`), sends
 * them in batches to every comm open on {@link TELEMETRY_TARGET}, answers
 * replay requests and routes cancel requests (one naming a run only while
 * that run is running).
 *
 * A batch costs one iopub message per open comm, so its comms are bulk
 * traffic (they wait behind the kernel's replies and statuses) and, while
 * earlier batches still wait to go out, the hub holds the next one back and
 * lets it grow: many comms or a slow frontend get fewer, larger batches,
 * never a queue that grows with every event.
 */
import { Comm, CommRegistry } from '../kernel/comms';
import { JsonObject } from '../kernel/messages';
import { createStderrLogger, Logger } from '../kernel/log';
import { AttemptStatus } from '../runtime/backend';
import { TelemetryHistory } from './history';
import {
  CancelRequest,
  EventsMessage,
  InvocationStatus,
  isTelemetryEvent,
  parseTelemetryRequest,
  ReplayMessage,
  TELEMETRY_PROTOCOL_VERSION,
  TELEMETRY_TARGET,
  TelemetryEvent,
  TelemetryEventInput,
} from './protocol';

/** Options of a {@link TelemetryHub}. */
export interface TelemetryHubOptions {
  /**
   * Events other than `exchange-round` and `training-epoch` kept for
   * replay; older ones are dropped and counted. Default 50,000.
   */
  maxEvents?: number;
  /**
   * `exchange-round` events kept for replay, in a lane of their own: a long
   * training's rounds push out older rounds only, never the runs' and
   * invocations' events. Default 20,000 (16 workers × 1,250 rounds).
   */
  maxExchangeEvents?: number;
  /**
   * `training-epoch` events kept for replay, in a lane of their own: a
   * panel opened late draws every train() call's epochs, however many
   * rounds and invocations came since. Default 10,000.
   */
  maxTrainingEvents?: number;
  /** Longest delay before queued events are sent, ms. Default 50. */
  flushIntervalMs?: number;
  /** The clock for `time` (epoch ms). */
  now?: () => number;
  /**
   * Check every event's shape at run time and log malformed ones (the types
   * already guarantee it at compile time; checking costs time on every
   * event, so it is for tests and debugging). Default false.
   */
  validate?: boolean;
  /** Where failures of comms and listeners are reported. Default: the kernel's stderr log. */
  logger?: Logger;
}

/** Receives every event as it is emitted. */
export type TelemetryListener = (event: TelemetryEvent) => void;
/** Handles a cancel request from the panel. */
export type CancelHandler = (request: CancelRequest) => void;

/**
 * The event status of an attempt: its backend status, or `retried` for a
 * crash that another attempt follows.
 */
export function invocationStatus(status: AttemptStatus, willRetry: boolean): InvocationStatus {
  return status === 'crashed' && willRetry ? 'retried' : status;
}

/** Stamps, keeps and sends telemetry events. */
export class TelemetryHub {
  /** Events held back for the comms at most (every lane's worth). */
  private readonly maxPending: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly validate: boolean;
  private readonly kept: TelemetryHistory;
  private seq = 0;
  private pending: TelemetryEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly comms = new Set<Comm>();
  private readonly listeners = new Set<TelemetryListener>();
  private readonly cancelHandlers = new Set<CancelHandler>();
  /**
   * The run between its `run-started` and `run-finished` events, if any (a
   * kernel runs one `%%serverless` cell at a time; a later start replaces it).
   */
  private runningRun: string | undefined;
  private registry: CommRegistry | undefined;

  constructor(options: TelemetryHubOptions = {}) {
    const maxEvents = options.maxEvents ?? 50_000;
    const maxExchangeEvents = options.maxExchangeEvents ?? 20_000;
    const maxTrainingEvents = options.maxTrainingEvents ?? 10_000;
    const limits = { maxEvents, maxExchangeEvents, maxTrainingEvents };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a whole number >= 1, got ${value}`);
      }
    }
    this.kept = new TelemetryHistory(limits);
    this.maxPending = maxEvents + maxExchangeEvents + maxTrainingEvents;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? createStderrLogger('warn');
    this.validate = options.validate ?? false;
  }

  /**
   * Stamps an event with the next `seq` and the time, keeps it, tells the
   * listeners and queues it for the open comms. Fields set to `undefined`
   * are left out. Returns the stamped event.
   */
  emit(input: TelemetryEventInput): TelemetryEvent {
    const event = { seq: ++this.seq, time: this.now() } as JsonObject;
    // for-in rather than Object.entries: no array per field (3 events per invocation in a map).
    const fields = input as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      if (value !== undefined) {
        event[key] = value;
      }
    }
    if (this.validate && !isTelemetryEvent(event)) {
      // Kept and sent all the same: the panel's guard skips it, the log says why.
      this.logger.warn(`telemetry: malformed event ${safeJson(event)}`);
    }
    const stamped = event as TelemetryEvent;
    this.track(stamped);
    this.kept.keep(stamped);
    for (const listener of this.listeners) {
      try {
        listener(stamped);
      } catch (error) {
        this.logger.warn(`telemetry: a listener failed on ${stamped.type}: ${describe(error)}`);
      }
    }
    if (this.comms.size > 0) {
      if (this.pending.length >= this.maxPending) {
        // Held back that long, the oldest are only in the history (a replay has them).
        this.pending.shift();
      }
      this.pending.push(stamped);
      this.timer ??= setTimeout(() => this.flushWhenClear(), this.flushIntervalMs).unref();
    }
    return stamped;
  }

  /** Sends the queued events now, in one `events` message per comm. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) {
      return;
    }
    const message: EventsMessage = {
      type: 'events',
      version: TELEMETRY_PROTOCOL_VERSION,
      events: this.pending,
    };
    this.pending = [];
    for (const comm of [...this.comms]) {
      this.send(comm, message);
    }
  }

  /** The timer's flush: waits (and batches) while earlier batches are still queued. */
  private flushWhenClear(): void {
    if ((this.registry?.backlog() ?? 0) > 0) {
      this.timer = setTimeout(() => this.flushWhenClear(), this.flushIntervalMs).unref();
      return;
    }
    this.flush();
  }

  /**
   * Registers the comm target. A comm opened on it receives live events
   * from then on, the whole history when it sends `{type: 'replay'}`, and its
   * `{type: 'cancel'}` requests go to the {@link onCancel} handlers: all of
   * them without a `runId`, those whose `runId` is the running run (between
   * its `run-started` and `run-finished` events) with one.
   */
  attach(registry: CommRegistry): void {
    this.registry = registry;
    registry.registerTarget(
      TELEMETRY_TARGET,
      (comm) => {
        this.comms.add(comm);
        comm.onMessage((message) => this.handleRequest(comm, message.data));
        comm.onClose(() => this.comms.delete(comm));
      },
      { bulk: true },
    );
  }

  /**
   * Adds a handler for cancel requests (it cancels whatever runs: the hub
   * has already dropped requests for a run that is not running); returns its
   * removal.
   */
  onCancel(handler: CancelHandler): () => void {
    this.cancelHandlers.add(handler);
    return () => this.cancelHandlers.delete(handler);
  }

  /** Adds an in-kernel listener of every event; returns its removal. */
  subscribe(listener: TelemetryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept events, oldest first (every lane, in `seq` order). */
  history(): TelemetryEvent[] {
    return this.kept.events();
  }

  /** How many of the oldest events were dropped from the history (any lane). */
  get truncated(): number {
    return this.kept.dropped;
  }

  /** The `seq` of the last event emitted (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Comms open on the target. */
  get openComms(): number {
    for (const comm of this.comms) {
      if (comm.isClosed) {
        this.comms.delete(comm);
      }
    }
    return this.comms.size;
  }

  /** Sends what is queued, stops the timer, unregisters the target and forgets comms and listeners. */
  dispose(): void {
    this.flush();
    this.registry?.unregisterTarget(TELEMETRY_TARGET);
    this.registry = undefined;
    this.comms.clear();
    this.listeners.clear();
    this.cancelHandlers.clear();
  }

  private track(event: TelemetryEvent): void {
    if (event.type === 'run-started') {
      this.runningRun = event.runId;
    } else if (event.type === 'run-finished' && event.runId === this.runningRun) {
      this.runningRun = undefined;
    }
  }

  private handleRequest(comm: Comm, data: JsonObject): void {
    const request = parseTelemetryRequest(data);
    if (!request) {
      this.logger.warn(`telemetry: ignored an unknown request ${safeJson(data)}`);
      return;
    }
    if (request.type === 'replay') {
      // Queued events go out first, so the replay that follows holds everything sent so far.
      this.flush();
      const replay: ReplayMessage = {
        type: 'replay',
        version: TELEMETRY_PROTOCOL_VERSION,
        events: this.history(),
        truncated: this.kept.dropped,
      };
      this.send(comm, replay);
      return;
    }
    if (request.runId !== undefined && request.runId !== this.runningRun) {
      // It ended (or never ran) before the request arrived: what runs now is not what the panel showed.
      this.logger.info(`telemetry: ignored a cancel request for run ${request.runId}, which is not running`);
      return;
    }
    if (this.cancelHandlers.size === 0) {
      this.logger.warn('telemetry: a cancel request arrived but nothing handles it');
    }
    for (const handler of [...this.cancelHandlers]) {
      try {
        handler(request);
      } catch (error) {
        this.logger.warn(`telemetry: a cancel handler failed: ${describe(error)}`);
      }
    }
  }

  /** Sends to one comm; a closed comm is dropped, a failing one does not stop the others. */
  private send(comm: Comm, message: EventsMessage | ReplayMessage): void {
    if (comm.isClosed) {
      this.comms.delete(comm);
      return;
    }
    try {
      comm.send(message);
    } catch (error) {
      if (comm.isClosed) {
        this.comms.delete(comm);
      } else {
        this.logger.warn(`telemetry: sending to comm ${comm.commId} failed: ${describe(error)}`);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function safeJson(value: unknown): string {
  try {
    return String(JSON.stringify(value)).slice(0, 500);
  } catch {
    return '(not JSON)';
  }
}

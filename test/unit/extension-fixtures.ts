/**
 * For the extension's unit tests: telemetry events stamped as the kernel's
 * hub stamps them (seq from 1, epoch ms times), and fakes of the kernel
 * connection, comm, session context and notebook tracker surfaces the model
 * and the KernelFollower use.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import type { INotebookLike } from '../../extension/src/model/notebook-tracking';
import { addUsd } from '../../extension/src/telemetry';
import type {
  AttemptCost,
  CostSplit,
  ExchangeLink,
  ExchangeRoundEvent,
  ExchangeStrategy,
  InvocationStatus,
  RunStatus,
  TelemetryEvent,
  TrainingEpochEvent,
} from '../../extension/src/telemetry';

/** Lambda's price of one request, USD. */
export const REQUEST_USD = 0.0000002;

/** An attempt's bill from its parts (the total summed in pico-dollars, as the kernel's meter does). */
export function attemptBill(computeUsd: number, initUsd = 0, requestUsd = REQUEST_USD): AttemptCost {
  return { computeUsd, initUsd, requestUsd, totalUsd: addUsd(addUsd(computeUsd, initUsd), requestUsd) };
}

/** A run's or the kernel's bill from its parts. */
export function costSplit(parts: {
  computeUsd: number;
  initUsd?: number;
  requestUsd: number;
  storageUsd?: number;
}): CostSplit {
  const initUsd = parts.initUsd ?? 0;
  const storageUsd = parts.storageUsd ?? 0;
  const { totalUsd } = attemptBill(parts.computeUsd, initUsd, addUsd(parts.requestUsd, storageUsd));
  return { computeUsd: parts.computeUsd, initUsd, requestUsd: parts.requestUsd, storageUsd, totalUsd };
}

/** What a warm 100 ms attempt at 1,024 MB costs on Lambda (x86_64). */
export const WARM_BILL = attemptBill(0.00000166667);

/** The fields of an exchange-round event a test may set (see {@link EventScript.exchange}). */
export interface ExchangeFields {
  exchange?: string;
  rank?: number;
  workers?: number;
  strategy?: ExchangeStrategy;
  codec?: string;
  store?: string;
  bytesUp?: number;
  bytesDown?: number;
  rawBytes?: number;
  requests?: number;
  storageUsd?: number;
  durationMs?: number;
  links?: ExchangeLink[];
}

/** A clock and a seq counter that build events in order. */
export class EventScript {
  seq = 0;
  time: number;
  readonly all: TelemetryEvent[] = [];
  private taken = 0;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  /** Moves the clock on. */
  wait(ms: number): this {
    this.time += ms;
    return this;
  }

  /** The events built since the last take. */
  take(): TelemetryEvent[] {
    const out = this.all.slice(this.taken);
    this.taken = this.all.length;
    return out;
  }

  runStarted(runId: string, fields: Partial<Extract<TelemetryEvent, { type: 'run-started' }>> = {}): this {
    return this.push({
      type: 'run-started',
      runId,
      label: `%%serverless ${runId}`,
      invocations: 1,
      memoryMb: 1024,
      timeoutS: 60,
      concurrency: 4,
      backend: 'local',
      ...fields,
    });
  }

  queued(id: string, runId: string, index?: number): this {
    return this.push({ type: 'invocation-queued', id, runId, ...(index === undefined ? {} : { index }) });
  }

  started(
    id: string,
    runId: string,
    fields: {
      attempt?: number;
      env?: string;
      cold?: boolean;
      initMs?: number;
      index?: number;
      memoryMb?: number;
    } = {},
  ): this {
    return this.push({
      type: 'invocation-started',
      id,
      runId,
      ...(fields.index === undefined ? {} : { index: fields.index }),
      attempt: fields.attempt ?? 1,
      environmentId: fields.env ?? 'env-1',
      cold: fields.cold ?? false,
      memoryMb: fields.memoryMb ?? 1024,
      initMs: fields.initMs ?? 0,
    });
  }

  finished(
    id: string,
    runId: string,
    fields: {
      attempt?: number;
      env?: string;
      cold?: boolean;
      index?: number;
      status?: InvocationStatus;
      durationMs?: number;
      cpuMs?: number;
      lambdaMs?: number;
      billedMs?: number;
      initBilledMs?: number;
      bill?: AttemptCost;
      error?: { name: string; message: string };
      bytesIn?: number;
      bytesOut?: number;
    } = {},
  ): this {
    return this.push({
      type: 'invocation-finished',
      id,
      runId,
      ...(fields.index === undefined ? {} : { index: fields.index }),
      attempt: fields.attempt ?? 1,
      environmentId: fields.env ?? 'env-1',
      cold: fields.cold ?? false,
      memoryMb: 1024,
      durationMs: fields.durationMs ?? 100,
      ...(fields.cpuMs === undefined ? {} : { cpuMs: fields.cpuMs }),
      ...(fields.lambdaMs === undefined ? {} : { lambdaMs: fields.lambdaMs }),
      billedMs: fields.billedMs ?? 100,
      initBilledMs: fields.initBilledMs ?? 0,
      bill: fields.bill ?? WARM_BILL,
      status: fields.status ?? 'ok',
      ...(fields.error ? { error: fields.error } : {}),
      bytesIn: fields.bytesIn ?? 10,
      bytesOut: fields.bytesOut ?? 20,
    });
  }

  runFinished(
    runId: string,
    fields: {
      status?: RunStatus;
      done?: number;
      failed?: number;
      cancelled?: number;
      durationMs?: number;
      bill: CostSplit;
    },
  ): this {
    return this.push({
      type: 'run-finished',
      runId,
      status: fields.status ?? 'ok',
      done: fields.done ?? 0,
      failed: fields.failed ?? 0,
      cancelled: fields.cancelled ?? 0,
      durationMs: fields.durationMs ?? 1000,
      bill: fields.bill,
    });
  }

  costTotals(fields: {
    computeUsd: number;
    initUsd?: number;
    requestUsd: number;
    storageUsd?: number;
    invocations: number;
  }): this {
    return this.push({ type: 'cost-totals', ...costSplit(fields), invocations: fields.invocations });
  }

  /** One worker's part of a round of exchange `fields.exchange` (default `grads`), protocol v3. */
  exchange(runId: string, round: number, fields: ExchangeFields = {}): this {
    const rank = fields.rank ?? 0;
    const bytesUp = fields.bytesUp ?? 1000;
    const bytesDown = fields.bytesDown ?? 2000;
    return this.push({
      type: 'exchange-round',
      runId,
      exchange: fields.exchange ?? 'grads',
      round,
      workerId: `worker:${rank}`,
      rank,
      workers: fields.workers ?? 1,
      strategy: fields.strategy ?? 'allreduce',
      codec: fields.codec ?? 'none',
      store: fields.store ?? 'embedded',
      bytesUp,
      bytesDown,
      rawBytes: fields.rawBytes ?? bytesUp + bytesDown,
      requests: fields.requests ?? 3,
      storageUsd: fields.storageUsd ?? 0,
      durationMs: fields.durationMs ?? 10,
      links: fields.links ?? [],
    } satisfies Omit<ExchangeRoundEvent, 'seq' | 'time'>);
  }

  /** Epoch `epoch` of train() call `trainId` (protocol v4); the fields not given as a 3-epoch MNIST run. */
  epoch(
    trainId: string,
    epoch: number,
    fields: Partial<Omit<TrainingEpochEvent, 'seq' | 'time' | 'type'>> = {},
  ): this {
    return this.push({
      type: 'training-epoch',
      trainId,
      name: 'mnist-mlp',
      runId: `${trainId}-run`,
      epoch,
      epochs: 3,
      loss: 1 / epoch,
      seconds: 2,
      samplesPerSecond: 4000,
      costUsd: 0.0001,
      totalCostUsd: addUsd(0.0001 * (epoch - 1), 0.0001),
      bytesExchanged: 1_000_000,
      workers: 4,
      strategy: 'allreduce',
      codec: 'none',
      store: 'embedded',
      ...fields,
    } satisfies Omit<TrainingEpochEvent, 'seq' | 'time'>);
  }

  lateError(id: string, runId: string, fields: { env?: string; name?: string; message?: string } = {}): this {
    return this.push({
      type: 'invocation-late-error',
      id,
      runId,
      attempt: 1,
      environmentId: fields.env ?? 'e1',
      error: { name: fields.name ?? 'Error', message: fields.message ?? 'late' },
    });
  }

  private push(input: object): this {
    this.seq += 1;
    this.time += 1;
    this.all.push({ seq: this.seq, time: this.time, ...input } as TelemetryEvent);
    return this;
  }
}

/**
 * A `--map` run of `n` invocations over `envs` environments, each queued,
 * started (the first one per environment cold) and finished ok: 3n + 3 events.
 */
export function mapRun(script: EventScript, runId: string, n: number, envs: number): EventScript {
  script.runStarted(runId, { invocations: n, concurrency: envs });
  const cold = attemptBill(WARM_BILL.computeUsd, 0.00000333334);
  const sum = { computeUsd: 0, initUsd: 0, requestUsd: 0 };
  for (let i = 0; i < n; i++) {
    script.queued(`${runId}-${i}`, runId, i);
  }
  for (let i = 0; i < n; i++) {
    const env = `env-${i % envs}`;
    const isCold = i < envs;
    const bill = isCold ? cold : WARM_BILL;
    sum.computeUsd = addUsd(sum.computeUsd, bill.computeUsd);
    sum.initUsd = addUsd(sum.initUsd, bill.initUsd);
    sum.requestUsd = addUsd(sum.requestUsd, bill.requestUsd);
    script.started(`${runId}-${i}`, runId, { index: i, env, cold: isCold, initMs: isCold ? 200 : 0 });
    script.wait(5);
    script.finished(`${runId}-${i}`, runId, {
      index: i,
      env,
      cold: isCold,
      initBilledMs: isCold ? 200 : 0,
      bill,
    });
  }
  script.runFinished(runId, { done: n, bill: costSplit(sum) });
  return script.costTotals({ ...sum, invocations: n });
}

/** What {@link exchangeRun} builds. */
export interface ExchangeRunOptions {
  exchange?: string;
  workers: number;
  rounds: number;
  /** The first round's number (default 1). */
  firstRound?: number;
  strategy?: ExchangeStrategy;
  /** Parameter-server shards (default 2). */
  shards?: number;
  /** Raw bytes of one worker's vector (default 4,000). */
  vectorBytes?: number;
  /** Raw / encoded (default 1: codec `none`). */
  ratio?: number;
  codec?: string;
  store?: string;
  /** USD of one store request (default 0). */
  requestUsd?: number;
}

/**
 * The exchange-round events of a data-parallel exchange: every worker's part
 * of every round, with the bytes and links its strategy gives. A leader
 * all-reduce: each worker writes its vector and reads the mean through the
 * leader `worker:0` (a star; the leader's own part is a link to itself). A
 * scatter-reduce: each worker sends a shard of its vector to each shard
 * owner and reads the reduced shards back (a mesh). A parameter server:
 * each worker pushes and pulls a part of its vector to every `ps:<shard>`.
 * Worker `rank` of round `round` takes `10 + rank + round % 3` ms.
 */
export function exchangeRun(script: EventScript, runId: string, o: ExchangeRunOptions): EventScript {
  const strategy = o.strategy ?? 'allreduce';
  const n = o.workers;
  const raw = o.vectorBytes ?? 4000;
  const ratio = o.ratio ?? 1;
  const enc = (bytes: number) => Math.round(bytes / ratio);
  const first = o.firstRound ?? 1;
  for (let round = first; round < first + o.rounds; round++) {
    for (let rank = 0; rank < n; rank++) {
      let links: ExchangeLink[];
      if (strategy === 'allreduce') {
        const down = rank === 0 ? raw * (n - 1) : raw;
        links = [{ node: 'worker:0', bytesUp: enc(raw), bytesDown: enc(down) }];
      } else if (strategy === 'scatter-reduce') {
        const shard = raw / n;
        links = Array.from({ length: n }, (_, owner) => ({
          node: `worker:${owner}`,
          bytesUp: enc(shard),
          bytesDown: enc(owner === rank ? shard * (n - 1) : shard),
        }));
      } else {
        const shards = o.shards ?? 2;
        links = Array.from({ length: shards }, (_, s) => ({
          node: `ps:${s}`,
          bytesUp: enc(raw / shards),
          bytesDown: enc(raw / shards),
        }));
      }
      const bytesUp = links.reduce((sum, l) => sum + l.bytesUp, 0);
      const bytesDown = links.reduce((sum, l) => sum + l.bytesDown, 0);
      const requests = links.length * 2;
      script.exchange(runId, round, {
        exchange: o.exchange,
        rank,
        workers: n,
        strategy,
        codec: o.codec ?? (ratio === 1 ? 'none' : 'fp16'),
        store: o.store,
        bytesUp,
        bytesDown,
        rawBytes: Math.round((bytesUp + bytesDown) * ratio),
        requests,
        storageUsd: requests * (o.requestUsd ?? 0),
        durationMs: 10 + rank + (round % 3),
        links,
      });
    }
  }
  return script;
}

/** What {@link trainingRun} builds. */
export interface TrainingRunOptions {
  /** Epochs reported (1 to `epochs`). */
  epochs: number;
  /** Epochs the call was asked for (default `epochs`). */
  planned?: number;
  name?: string;
  /** The cell run of its epochs (default `<trainId>-run`). */
  runId?: string;
  /** Whether epochs report accuracy, and validation metrics (default both true). */
  accuracy?: boolean;
  validation?: boolean;
  /** Cost of epoch `e` in USD (default 0.0001 × e: later epochs cost more, so sums are told apart). */
  costUsd?: (epoch: number) => number;
}

/**
 * The training-epoch events of one train() call: loss falling as 1/e,
 * accuracy rising, a running total summed in pico-dollars as the kernel
 * does, a checkpoint per epoch.
 */
export function trainingRun(script: EventScript, trainId: string, o: TrainingRunOptions): EventScript {
  const cost = o.costUsd ?? ((e: number) => Number((0.0001 * e).toFixed(12)));
  let total = 0;
  for (let e = 1; e <= o.epochs; e++) {
    const costUsd = cost(e);
    total = addUsd(total, costUsd);
    script.epoch(trainId, e, {
      name: o.name ?? 'mnist-mlp',
      runId: o.runId ?? `${trainId}-run`,
      epochs: o.planned ?? o.epochs,
      loss: 2 / (e + 1),
      ...(o.accuracy === false ? {} : { accuracy: 1 - 0.5 / e }),
      ...(o.validation === false
        ? {}
        : { valLoss: 2.2 / (e + 1), ...(o.accuracy === false ? {} : { valAccuracy: 1 - 0.6 / e }) }),
      costUsd,
      totalCostUsd: total,
      checkpointVersion: e,
    });
  }
  return script;
}

/** A comm as the model uses it; `receive` and `closeFromKernel` act as the kernel. */
export class FakeComm {
  readonly commId: string;
  isDisposed = false;
  opened: unknown[] = [];
  sent: unknown[] = [];
  closed = 0;
  onMsg: (msg: KernelMessage.ICommMsgMsg) => void | PromiseLike<void> = () => undefined;
  onClose: (msg: KernelMessage.ICommCloseMsg) => void | PromiseLike<void> = () => undefined;

  constructor(
    readonly targetName: string,
    private readonly kernel: FakeKernel,
  ) {
    this.commId = `comm-${kernel.comms.length + 1}`;
  }

  open(data?: unknown): void {
    this.check();
    this.opened.push(data);
  }

  send(data: unknown): void {
    this.check();
    this.sent.push(data);
  }

  close(): void {
    this.check();
    this.closed += 1;
    this.dispose();
  }

  dispose(): void {
    this.isDisposed = true;
  }

  /** The kernel sends `data` on this comm. */
  receive(data: unknown): void {
    void this.onMsg({ content: { comm_id: this.commId, data } } as unknown as KernelMessage.ICommMsgMsg);
  }

  /** The kernel closes this comm. */
  closeFromKernel(): void {
    void this.onClose({
      content: { comm_id: this.commId, data: {} },
    } as unknown as KernelMessage.ICommCloseMsg);
    this.dispose();
  }

  private check(): void {
    if (this.isDisposed || this.kernel.isDisposed) {
      throw new Error('Comm is closed');
    }
  }
}

/** The surface of `Kernel.IKernelConnection` the model uses. */
export class FakeKernel {
  readonly name = 'serverless-ts';
  status: KernelMessage.Status = 'idle';
  connectionStatus: Kernel.ConnectionStatus = 'connected';
  isDisposed = false;
  readonly comms: FakeComm[] = [];
  readonly statusChanged = new Signal<this, KernelMessage.Status>(this);
  readonly connectionStatusChanged = new Signal<this, Kernel.ConnectionStatus>(this);
  readonly disposed = new Signal<this, void>(this);

  constructor(readonly id: string) {}

  createComm(targetName: string): FakeComm {
    if (this.isDisposed) {
      throw new Error('Kernel is disposed');
    }
    const comm = new FakeComm(targetName, this);
    this.comms.push(comm);
    return comm;
  }

  /** The last comm opened. */
  get comm(): FakeComm {
    return this.comms[this.comms.length - 1];
  }

  setStatus(status: KernelMessage.Status): void {
    this.status = status;
    // As services does on a restart: comms are disposed.
    if (status === 'restarting' || status === 'autorestarting') {
      this.comms.forEach((comm) => comm.dispose());
    }
    this.statusChanged.emit(status);
  }

  setConnection(status: Kernel.ConnectionStatus): void {
    this.connectionStatus = status;
    this.connectionStatusChanged.emit(status);
  }

  dispose(): void {
    this.isDisposed = true;
    this.disposed.emit();
  }

  get connection(): Kernel.IKernelConnection {
    return this as unknown as Kernel.IKernelConnection;
  }
}

/** The part of `ISessionContext` the KernelFollower reads. */
export class FakeSessionContext {
  isDisposed = false;
  readonly kernelChanged = new Signal<this, unknown>(this);
  session: { kernel: Kernel.IKernelConnection | null } | null = null;

  setKernel(kernel: FakeKernel | null): void {
    this.session = { kernel: kernel ? kernel.connection : null };
    this.kernelChanged.emit({ name: 'kernel' });
  }
}

/** The part of `INotebookTracker` the KernelFollower reads. */
export class FakeTracker {
  currentWidget: INotebookLike | null = null;
  readonly currentChanged = new Signal<this, INotebookLike | null>(this);

  setCurrent(widget: INotebookLike | null): void {
    this.currentWidget = widget;
    this.currentChanged.emit(widget);
  }
}

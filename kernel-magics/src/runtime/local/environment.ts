/**
 * One execution environment of the embedded runtime: a worker process with a
 * memory limit, a clean environment, and one invocation at a time. It knows
 * which programs and captures it already holds, so warm invocations carry
 * only their element, and which jobs it was handed: the one it runs and
 * those waiting behind it in the worker.
 */
import { AttemptOutcome, RemoteError } from '../backend';
import { InvocationClock } from './cpu-share-clock';
import { CpuTimeReader } from '../cpu-time';
import { deathOutcome, reportedOutcome } from './death';
import { readEndReport } from './end-report';
import { HeldInputs } from './held-inputs';
import { EnvironmentRun, Job, JobEnvironment } from './job';
import { RssReader, Watched } from './memory';
import { InvokeMessage, WorkerMessage } from './protocol';
import { KillReason, WorkerLaunch, WorkerProcess } from './worker-process';

/** The state of an environment. */
export type EnvironmentState = 'starting' | 'idle' | 'busy' | 'dead';

/**
 * What an environment tells its backend, synchronously and in this order
 * when an invocation ends: `ended`, `started` for the one handed behind it
 * (if any), `settled`.
 */
export interface EnvironmentEvents {
  /** The running job ended: its result, or the environment's death under it. */
  ended(env: Environment, job: Job, run: EnvironmentRun): void;
  /**
   * A job started running (at `startedAt`, epoch ms): handed to an idle
   * environment, or next in line when the one before ended.
   */
  started(env: Environment, job: Job, startedAt: number): void;
  /** The environment is idle, or runs the next job: the backend may hand it more. */
  settled(env: Environment): void;
  /** The process is gone (after `ended` for the job it ran); `unstarted` were handed to it and never ran. */
  exited(env: Environment, unstarted: Job[]): void;
  /** The worker gave back jobs that waited in its line (see `withdrawLine`); they never ran. */
  returned(env: Environment, jobs: Job[]): void;
  /**
   * Code that `job` left behind after it ended (a timer, a promise) threw,
   * or ended the process: the environment died of it (`exited` follows).
   */
  lateError(env: Environment, job: Job, error: RemoteError): void;
}

/** Ended invocations an environment remembers, to blame code they left behind (see `lateError`). */
const REMEMBERED_INVOCATIONS = 64;

/** A job handed to the worker: its message's sequence number and what the kernel side measures. */
interface Handed {
  job: Job;
  seq: number;
  bytesIn: number;
  /** performance.now() when it started running (0 while it waits behind another). */
  startedAt: number;
  /** Its --timeout's clock, once it started. */
  clock?: InvocationClock;
  /** Asked back from the worker (see `withdrawLine`). */
  withdrawing?: boolean;
  /** Sent with the environment's start, before it was ready (see `preload`). */
  preloaded?: boolean;
}

/**
 * One worker process. It runs one invocation at a time; jobs handed to it
 * while it runs wait in the worker, which starts the next as soon as it has
 * sent a result (no round trip to the kernel between them).
 */
export class Environment implements Watched, JobEnvironment {
  state: EnvironmentState = 'starting';
  /** Configured memory, MB. */
  readonly memoryMb: number;
  /** The notebook's directory it was started for. */
  readonly cwd: string;
  /** The files shipped into it (`--files`), by content key; '' for none. */
  readonly filesHash: string;
  /** The store URL its invocations use ('' for the embedded store). */
  readonly store: string;
  /** Invocations this environment ran (or runs). */
  invocations = 0;
  /** When it last finished an invocation (epoch ms). */
  lastUsed = Date.now();
  /** How long its last invocation ran (ms), and of which program: what pipelining decides on. */
  lastRun?: { programHash: string; durationMs: number };
  /** Resolves when the worker is ready; rejects when it died or did not start in time. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  private readonly process: WorkerProcess;
  private readonly rss: RssReader;
  private readonly cpu: CpuTimeReader;
  private readonly held: HeldInputs;
  /** Jobs handed to the worker, in order: the first runs (once started), the others wait behind it. */
  private readonly line: Handed[] = [];
  private seq = 0;
  /** Peak resident memory seen by the memory watch, MB (0: not seen). */
  private peakRssMb = 0;
  /** Jobs that ended here, by sequence number, the latest last (bounded). */
  private readonly pastJobs = new Map<number, Job>();

  constructor(
    /** Environment id, e.g. `local-3`. */
    readonly id: string,
    launch: WorkerLaunch,
    private readonly events: EnvironmentEvents,
  ) {
    this.memoryMb = launch.memoryMb;
    this.cwd = launch.cwd;
    this.filesHash = launch.filesHash;
    this.store = launch.store;
    this.held = new HeldInputs(this.memoryMb);
    this.process = new WorkerProcess(launch, {
      ready: () => this.onReady(),
      message: (message) => this.onMessage(message),
      died: () => (this.state = 'dead'),
      exit: () => this.onExit(),
    });
    this.rss = new RssReader(() => this.process.memoryPid);
    this.cpu = new CpuTimeReader(() => this.process.memoryPid);
    this.ready = this.process.ready;
    this.exited = this.process.exited;
  }

  /** ms from spawn to ready (0 until ready). */
  get initMs(): number {
    return this.process.initMs;
  }

  /** The worker's PID (tests check that none is left). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Jobs handed to it and not ended: the running one and those waiting behind it. */
  get handed(): number {
    return this.line.length;
  }

  /** The job it runs (or, while it starts, will run first). */
  get head(): Job | undefined {
    return this.line[0]?.job;
  }

  /** Jobs in its line that have not started (waiting behind the running one). */
  get notStarted(): number {
    return this.line.filter((handed) => handed.startedAt === 0).length;
  }

  /** How long the running job has run, ms (0 when none runs). */
  get headRunningMs(): number {
    const head = this.line[0];
    return head && head.startedAt > 0 ? performance.now() - head.startedAt : 0;
  }

  /** Whether jobs wait behind the running one that have not been asked back. */
  get lineWaiting(): boolean {
    return this.line.length > 1 && this.line.some((handed, i) => i > 0 && !handed.withdrawing);
  }

  /**
   * Asks the worker to give back the jobs waiting behind the running one;
   * those it has not started yet come back through `returned` (the others
   * run, and end as usual).
   */
  withdrawLine(): void {
    const seqs: number[] = [];
    for (let i = 1; i < this.line.length; i += 1) {
      if (!this.line[i].withdrawing) {
        this.line[i].withdrawing = true;
        seqs.push(this.line[i].seq);
      }
    }
    if (seqs.length > 0) {
      this.process.send({ type: 'withdraw', seqs });
    }
  }

  /** Whether it was killed (it is on its way out: hand it nothing). */
  get killed(): boolean {
    return this.process.killedFor !== undefined;
  }

  /**
   * Hands a job to the worker (ready, not dead): it runs at once when the
   * environment is idle (`started` is called before this returns), else after
   * the jobs handed before it.
   */
  hand(job: Job): void {
    this.send(job, false);
    if (this.line.length === 1) {
      this.startHead();
    }
  }

  /**
   * Sends the job an environment is started for along with its start, as
   * Lambda holds the invoke that caused a cold start during INIT: the worker
   * finds it as soon as it is ready, without waiting for the kernel to answer
   * `ready`. It starts (`started`) when the worker says it is ready. If the
   * environment dies before that, the job is not among the unstarted ones
   * `exited` gives back: the start failed, and the backend's retry policy
   * decides.
   */
  preload(job: Job): void {
    this.send(job, true);
  }

  /** Writes a job's invocation to the worker and puts it in line. */
  private send(job: Job, preloaded: boolean): void {
    this.seq += 1;
    const { request } = job;
    const message: InvokeMessage = {
      type: 'invoke',
      seq: this.seq,
      programHash: request.program.hash,
      capturesHash: request.captures.hash,
      element: request.element,
      cwd: request.cwd,
      context: {
        id: request.id,
        runId: request.runId,
        index: request.index,
        attempt: job.attempt,
        store: request.store,
      },
    };
    const bytesIn = (request.element?.byteLength ?? 0) + this.held.fill(message, request);
    this.line.push({ job, seq: this.seq, bytesIn, startedAt: 0, preloaded });
    this.process.send(message);
  }

  /** The worker is ready: every environment is started for a job, which starts now. */
  private onReady(): void {
    this.state = 'busy';
    const head = this.line[0];
    if (head?.preloaded) {
      head.preloaded = false;
      this.startHead();
    }
  }

  /**
   * The first job in line starts: its clock and its timeout run from when
   * it started in the worker, `lagMs` ago (the worker starts the next one in
   * its line as soon as it has sent a result, however late the kernel reads it).
   */
  private startHead(lagMs = 0): void {
    const head = this.line[0];
    if (this.state !== 'dead') {
      this.state = 'busy';
    }
    this.invocations += 1;
    const { request } = head.job;
    head.clock = new InvocationClock({
      timeoutMs: request.timeoutS * 1000,
      lagMs,
      memoryMb: request.memoryMb,
      cpu: request.cpu,
      readCpu: () => this.cpu.read(),
      onTimeout: () => this.kill('timeout'),
    });
    head.startedAt = head.clock.startedAt;
    this.events.started(this, head.job, Math.round(Date.now() - lagMs));
  }

  /** Stops the worker (SIGKILL: a busy loop ignores anything gentler). */
  kill(reason?: KillReason, note?: string): void {
    // The CPU time its invocation used, read while the process is still there.
    this.line[0]?.clock?.stop();
    this.process.kill(reason, note);
  }

  /** Whether the memory watch checks it: while it runs an invocation. */
  get watched(): boolean {
    return this.state === 'busy' && this.line.length > 0 && this.line[0].startedAt > 0;
  }

  /**
   * Reads the resident memory, keeps the peak, and kills the environment when
   * it is over --memory (as Lambda does). Returns the share of --memory used.
   */
  checkMemory(): number | undefined {
    const used = this.rss.readMb();
    if (used === undefined) {
      return undefined;
    }
    this.peakRssMb = Math.max(this.peakRssMb, used);
    if (used > this.memoryMb) {
      this.kill('memory');
    }
    return used / this.memoryMb;
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === 'withdrawn') {
      const given = this.line.filter((handed, i) => i > 0 && message.seqs.includes(handed.seq));
      if (given.length > 0) {
        for (const handed of given) {
          this.line.splice(this.line.indexOf(handed), 1);
        }
        this.events.returned(
          this,
          given.map((handed) => handed.job),
        );
      }
      return;
    }
    const head = this.line[0];
    if (!head || message.type === 'ready' || message.seq !== head.seq) {
      return;
    }
    const { observer } = head.job;
    switch (message.type) {
      case 'stream':
        head.job.notify(() => observer.onStream?.(message.name, message.text));
        return;
      case 'display':
        head.job.notify(() =>
          observer.onDisplay?.(message.data, message.metadata, message.displayId, message.update),
        );
        return;
      case 'clear':
        head.job.notify(() => observer.onClear?.(message.wait));
        return;
      case 'event':
        head.job.notify(() => observer.onEvent?.(message.event));
        return;
      case 'result':
      case 'error': {
        head.clock?.stop();
        this.line.shift();
        this.remember(head);
        this.lastUsed = Date.now();
        this.lastRun = { programHash: head.job.request.program.hash, durationMs: message.durationMs };
        if (this.line.length === 0 && this.state !== 'dead') {
          this.state = 'idle';
        }
        const outcome: AttemptOutcome =
          message.type === 'result'
            ? { status: 'ok', result: message.result }
            : { status: 'error', error: message.error };
        const bytesOut =
          message.type === 'result'
            ? message.result.byteLength
            : Buffer.byteLength(JSON.stringify(message.error));
        this.events.ended(this, head.job, {
          outcome,
          durationMs: message.durationMs,
          cpuMs: message.cpuMs,
          queuedMs: message.queuedMs,
          lambdaMs: head.clock?.lambdaMs(message.durationMs, message),
          maxMemoryUsedMb: Math.max(message.maxRssMb, this.peakRssMb),
          bytesIn: head.bytesIn,
          bytesOut,
        });
        // The worker went on with the next one as soon as it sent this result.
        if (this.line.length > 0 && !this.killed) {
          this.startHead(Math.max(0, performance.timeOrigin + performance.now() - message.sentAt));
        }
        this.events.settled(this);
        return;
      }
    }
  }

  /** Keeps an ended job, to blame code it left behind (the oldest forgotten past the bound). */
  private remember(handed: Handed): void {
    this.pastJobs.set(handed.seq, handed.job);
    if (this.pastJobs.size > REMEMBERED_INVOCATIONS) {
      this.pastJobs.delete(this.pastJobs.keys().next().value as number);
    }
  }

  private onExit(): void {
    this.state = 'dead';
    this.rss.close();
    this.cpu.close();
    // What the program did to end the process, unless the kernel ended it.
    const report =
      this.process.killedFor === undefined ? readEndReport(this.process.stderrText()) : undefined;
    const line = this.line.splice(0);
    const head = line[0];
    const headRan = head !== undefined && head.startedAt > 0;
    if (headRan) {
      line.shift();
      const clock = head.clock;
      clock?.stop();
      const durationMs = performance.now() - head.startedAt;
      const timedOut = this.process.killedFor === 'timeout';
      // Lambda bills a killed invocation for the time it ran, a timed-out one for its timeout.
      this.events.ended(this, head.job, {
        outcome: report
          ? reportedOutcome(report, head.seq, this.pastJobs)
          : deathOutcome(this.process, head.job.request, this.memoryMb, this.peakRssMb, clock),
        durationMs,
        cpuMs: clock?.cpuMs,
        lambdaMs:
          timedOut && clock?.modelled ? head.job.request.timeoutS * 1000 : clock?.lambdaMs(durationMs),
        maxMemoryUsedMb: this.peakRssMb > 0 ? this.peakRssMb : undefined,
        bytesIn: head.bytesIn,
        bytesOut: 0,
      });
    }
    const blamed = report?.invocation === undefined ? undefined : this.pastJobs.get(report.invocation);
    if (report && blamed) {
      this.events.lateError(this, blamed, report.error);
    }
    this.events.exited(
      this,
      line.filter((handed) => !handed.preloaded).map((handed) => handed.job),
    );
  }
}

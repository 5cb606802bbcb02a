/**
 * The local backend's pool of execution environments: starting, idle and
 * busy ones, warm reuse by configuration, eviction of idle ones at the
 * limit, idle expiry, and the processes not yet exited (which `dispose`
 * waits for).
 */
import { mkdirSync } from 'node:fs';

import { PACKAGE_ROOT } from '../../package-root';
import { BackendStatus, InvocationRequest } from '../backend';
import { KILL_GRACE_MS } from './config';
import { Environment, EnvironmentEvents } from './environment';
import { SandboxMode, sandboxSupport, SandboxSupport } from './sandbox';
import { atMost } from './waits';

/** What the pool needs to start and expire environments. */
export interface PoolOptions {
  workerPath: string;
  readyTimeoutMs: number;
  idleExpiryMs: number;
  sandbox: SandboxMode;
  storeDir: string;
  /** Non-empty: environments have no embedded store (see LocalBackendOptions). */
  embeddedStoreUnavailable: string;
}

/** The environments of one backend. */
export class EnvironmentPool {
  /** The pool: environments starting, idle or busy (dead ones leave it). */
  readonly environments = new Set<Environment>();
  /** Every environment whose process has not exited yet (the pool, and the ones killed on the way out). */
  private readonly live = new Set<Environment>();
  private readonly expiryTimers = new Map<Environment, NodeJS.Timeout>();
  private nextId = 1;
  private support?: SandboxSupport;
  private storeReady = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly events: EnvironmentEvents,
  ) {}

  /**
   * Starts an environment for `request`, first stopping the least recently
   * used idle ones while the pool holds `limit` environments or more.
   */
  start(request: InvocationRequest, limit: number): Environment {
    const idle = [...this.environments]
      .filter((env) => env.state === 'idle')
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.environments.size >= limit && idle.length > 0) {
      const oldest = idle.shift() as Environment;
      oldest.kill();
      this.forget(oldest);
    }
    const env = new Environment(
      `local-${this.nextId++}`,
      {
        memoryMb: request.memoryMb,
        cwd: request.cwd,
        workerPath: this.options.workerPath,
        packageRoot: PACKAGE_ROOT,
        readyTimeoutMs: this.options.readyTimeoutMs,
        sandbox: this.sandbox(),
        filesDir: request.files?.dir,
        ...(this.options.embeddedStoreUnavailable
          ? { storeUnavailable: this.options.embeddedStoreUnavailable }
          : { storeDir: this.storeDir() }),
        fileEntries: request.files?.entries ?? [],
        filesHash: request.files?.hash ?? '',
        store: request.store ?? '',
      },
      this.events,
    );
    this.environments.add(env);
    this.live.add(env);
    return env;
  }

  /** Takes a warm idle environment of `request`'s configuration (its expiry is cancelled), if any. */
  takeIdle(request: InvocationRequest): Environment | undefined {
    for (const env of this.environments) {
      if (
        env.state === 'idle' &&
        !env.killed &&
        env.memoryMb === request.memoryMb &&
        env.cwd === request.cwd &&
        env.filesHash === (request.files?.hash ?? '') &&
        env.store === (request.store ?? '')
      ) {
        clearTimeout(this.expiryTimers.get(env));
        this.expiryTimers.delete(env);
        return env;
      }
    }
    return undefined;
  }

  /** Whether environments are sandboxed (detected at the first start, or now). */
  sandbox(): SandboxSupport {
    this.support ??= sandboxSupport(this.options.sandbox);
    return this.support;
  }

  /**
   * The embedded store's directory, created (owner only) when the first
   * environment starts: a bind mount needs it to exist.
   */
  private storeDir(): string {
    if (!this.storeReady) {
      mkdirSync(this.options.storeDir, { recursive: true, mode: 0o700 });
      this.storeReady = true;
    }
    return this.options.storeDir;
  }

  /** How many environments are starting. */
  starting(): number {
    let starting = 0;
    for (const env of this.environments) {
      starting += env.state === 'starting' ? 1 : 0;
    }
    return starting;
  }

  /** An environment went idle: it is stopped after the idle expiry unless taken before. */
  release(env: Environment): void {
    const timer = setTimeout(() => {
      if (env.state === 'idle') {
        env.kill();
        this.forget(env);
      }
    }, this.options.idleExpiryMs);
    timer.unref();
    this.expiryTimers.set(env, timer);
  }

  /** Takes an environment out of the pool (it is dying or dead). */
  forget(env: Environment): void {
    clearTimeout(this.expiryTimers.get(env));
    this.expiryTimers.delete(env);
    this.environments.delete(env);
  }

  /** An environment's process exited. */
  exited(env: Environment): void {
    this.live.delete(env);
    this.forget(env);
  }

  /** PIDs of the processes not yet exited. */
  pids(): number[] {
    return [...this.live].map((env) => env.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** The environments, for `status()`. */
  status(): BackendStatus['environments'] {
    return [...this.environments]
      .filter((env) => env.state !== 'dead')
      .map((env) => ({
        id: env.id,
        memoryMb: env.memoryMb,
        state: env.state === 'dead' ? 'idle' : env.state,
        invocations: env.invocations,
      }));
  }

  /** Kills every environment and waits (bounded) for their processes to exit. */
  async dispose(): Promise<void> {
    for (const timer of this.expiryTimers.values()) {
      clearTimeout(timer);
    }
    this.expiryTimers.clear();
    const environments = [...this.live];
    for (const env of environments) {
      env.kill('dispose');
    }
    // SIGKILL cannot be refused; the bound only guards against an exit that is never reported.
    await atMost(Promise.all(environments.map((env) => env.exited)), KILL_GRACE_MS);
    this.environments.clear();
  }
}

/**
 * When the local backend pipelines: which busy environment may be handed
 * more of the queue, how much, which queued job may wait behind the one it
 * runs, and when what waits is asked back. Lambda's semantics hold: one
 * invocation at a time per environment, at most `concurrency` running; a
 * job waiting in an environment's line has not started (no attempt, no bill).
 */
import { PIPELINE_REFILL_AT, PIPELINE_SHORT_MS, PIPELINE_STUCK_MS } from './config';
import { Environment } from './environment';
import { Job } from './job';

/**
 * How many more jobs `env` may be handed now: none unless it runs a job of
 * the program it last ran short (under PIPELINE_SHORT_MS), that job has not
 * run long either, and its line is nearly empty (PIPELINE_REFILL_AT); then up
 * to `depth` in line, and no more than a fair share of the `queued` jobs
 * among `limit` environments (so the end of a run is spread out).
 */
export function lineRoom(env: Environment, depth: number, queued: number, limit: number): number {
  const head = env.head;
  const last = env.lastRun;
  if (
    env.state !== 'busy' ||
    env.killed ||
    !head ||
    env.handed > PIPELINE_REFILL_AT ||
    last === undefined ||
    last.durationMs >= PIPELINE_SHORT_MS ||
    last.programHash !== head.request.program.hash ||
    env.headRunningMs >= PIPELINE_SHORT_MS
  ) {
    return 0;
  }
  return Math.max(0, Math.min(depth, env.handed + Math.ceil(queued / limit)) - env.handed);
}

/**
 * Whether a queued job may wait behind the one `env` runs: same run (one
 * AbortSignal: cancelling it kills the environment, and everything in its
 * line is cancelled with it), same program, same configuration.
 */
export function fitsLine(env: Environment, job: Job): boolean {
  const head = env.head;
  return (
    head !== undefined &&
    job.signal === head.signal &&
    job.request.program.hash === head.request.program.hash &&
    job.request.memoryMb === env.memoryMb &&
    job.request.cwd === env.cwd
  );
}

/**
 * Asks back what waits behind a job that turned out long (PIPELINE_STUCK_MS),
 * so it can run elsewhere. Called periodically while environments run.
 */
export function unblockLines(environments: Iterable<Environment>): void {
  for (const env of environments) {
    if (env.lineWaiting && env.headRunningMs >= PIPELINE_STUCK_MS) {
      env.withdrawLine();
    }
  }
}

/** Asks back what waits in the lines of a run (its caller stopped it: a budget spent). */
export function withdrawRun(environments: Iterable<Environment>, signal: AbortSignal): void {
  for (const env of environments) {
    if (env.head?.signal === signal) {
      env.withdrawLine();
    }
  }
}

/**
 * Lambda's execution environments as the kernel sees them: the platform
 * picks and keeps them, and the kernel learns of one only from its answers.
 * `%serverless status` lists those that answered lately.
 */
import type { BackendStatus } from '../backend';

/** How long Lambda keeps an idle execution environment, at most (it does not say; observed 5-15 minutes). */
export const LAMBDA_IDLE_WINDOW_MS = 15 * 60_000;

/** The environments that answered within the idle window. */
export class SeenEnvironments {
  /** By id, least recently seen first. */
  private readonly seen = new Map<string, { memoryMb: number; invocations: number; lastSeen: number }>();

  /** Environment `id` answered an invocation of `memoryMb`. */
  note(id: string, memoryMb: number): void {
    const known = this.seen.get(id) ?? { memoryMb, invocations: 0, lastSeen: 0 };
    known.invocations += 1;
    known.lastSeen = Date.now();
    this.seen.delete(id);
    this.seen.set(id, known);
    this.forgetIdle();
  }

  /** Those seen within the idle window, as status rows. */
  recent(): BackendStatus['environments'] {
    this.forgetIdle();
    return [...this.seen].map(([id, env]) => ({
      id,
      memoryMb: env.memoryMb,
      state: 'idle' as const,
      invocations: env.invocations,
    }));
  }

  /** Forgets those not seen within the idle window (the oldest come first): the table stays as small as Lambda's pool. */
  private forgetIdle(): void {
    const since = Date.now() - LAMBDA_IDLE_WINDOW_MS;
    for (const [id, env] of this.seen) {
      if (env.lastSeen >= since) {
        break;
      }
      this.seen.delete(id);
    }
  }
}

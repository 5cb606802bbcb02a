/**
 * The backends, by name: each is created when a run first asks for it and
 * kept for the kernel's life (its environments stay warm), then disposed
 * with the kernel.
 */
import type { Backend } from './backend';

/** Makes a backend. */
export type BackendFactory = () => Backend;

/** Raised for a backend name this kernel has no factory for; the message says what to use. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

/** Backends created on first use from their factories. */
export class BackendRegistry {
  private readonly started = new Map<string, Backend>();

  constructor(private readonly factories: Readonly<Record<string, BackendFactory>>) {}

  /** The names of the backends this kernel can run on. */
  names(): string[] {
    return Object.keys(this.factories);
  }

  /** The backend `name`, created on first use; BackendUnavailableError for one with no factory. */
  get(name: string): Backend {
    let backend = this.started.get(name);
    if (!backend) {
      const factory = Object.hasOwn(this.factories, name) ? this.factories[name] : undefined;
      if (!factory) {
        throw new BackendUnavailableError(
          `--backend ${name} is not available in this version of the kernel; ` +
            `use ${this.names()
              .map((known) => `--backend ${known}`)
              .join(' or ')}.`,
        );
      }
      backend = factory();
      this.started.set(name, backend);
    }
    return backend;
  }

  /** The backends created so far. */
  all(): Backend[] {
    return [...this.started.values()];
  }

  /** Disposes every backend created; a failing one does not keep the others alive. */
  async dispose(): Promise<void> {
    const backends = this.all();
    this.started.clear();
    await Promise.allSettled(backends.map((backend) => backend.dispose()));
  }
}

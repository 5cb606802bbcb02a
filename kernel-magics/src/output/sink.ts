/**
 * The process-wide place where cell output goes. The kernel installs a sink;
 * the display API and stdout/stderr write to it. The holder lives on a global
 * symbol so that two copies of this package (one in the kernel, one resolved
 * from a notebook's node_modules) still share one sink.
 */
import { JsonObject, MimeBundle } from '../kernel/messages';

/**
 * A typed event a program sends to the kernel while its invocation runs:
 * what exchange rounds and training progress report (see
 * InvocationObserver.onEvent). `type` names the kind; `data` is plain JSON.
 */
export interface InvocationEvent {
  type: string;
  data: JsonObject;
}

/** Where output of the running (or last) cell goes. */
export interface OutputSink {
  /** Text written to stdout or stderr. */
  stream(name: 'stdout' | 'stderr', text: string): void;
  /** A rich display; `update` replaces the display with the same id. */
  display(data: MimeBundle, metadata: JsonObject, displayId?: string, update?: boolean): void;
  /** Clears the cell's output (`wait`: when the next output arrives). */
  clear(wait: boolean): void;
  /** An invocation event (only inside an invocation; elsewhere there is nobody to send it to). */
  event?(event: InvocationEvent): void;
}

const SINK_KEY = Symbol.for('serverless-kernel.output-sink');

type SinkHolder = { [SINK_KEY]?: OutputSink };

/** Outside a kernel (e.g. plain node), output falls back to the console. */
const consoleSink: OutputSink = {
  stream(name, text) {
    (name === 'stdout' ? process.stdout : process.stderr).write(text);
  },
  display(data) {
    const text = data['text/plain'];
    process.stdout.write(`${typeof text === 'string' ? text : JSON.stringify(data)}\n`);
  },
  clear() {
    // Nothing to clear on a terminal.
  },
};

/**
 * Drops everything: the kernel's sink once it shuts down. A run it
 * interrupts may still draw its progress or print as it ends, and that has
 * no cell left to go to; the console would be the kernel's own stdout.
 */
export const DISCARDING_SINK: OutputSink = {
  stream() {
    // Nowhere to go (see above).
  },
  display() {
    // Nowhere to go (see above).
  },
  clear() {
    // Nothing to clear.
  },
};

/** Installs the kernel's sink (returns the previous one). */
export function setOutputSink(sink: OutputSink | undefined): OutputSink | undefined {
  const holder = globalThis as SinkHolder;
  const previous = holder[SINK_KEY];
  holder[SINK_KEY] = sink;
  return previous;
}

/** The current sink. */
export function getOutputSink(): OutputSink {
  return (globalThis as SinkHolder)[SINK_KEY] ?? consoleSink;
}

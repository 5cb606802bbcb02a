/**
 * The process-wide place where cell output goes. The kernel installs a sink;
 * the display API and stdout/stderr write to it. The holder lives on a global
 * symbol so that two copies of this package (one in the kernel, one resolved
 * from a notebook's node_modules) still share one sink.
 */
import { JsonObject, MimeBundle } from '../kernel/messages';
import type { InvocationEvent } from '../runtime/backend';

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

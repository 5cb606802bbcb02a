/**
 * Cell output on the iopub channel: stdout/stderr coalesced into `stream`
 * messages, displays, clear_output, all parented to the cell that runs (or
 * ran last, for output printed later by timers).
 */
import { OutputSink } from '../output/sink';
import { JsonObject, MessageHeader, MimeBundle } from './messages';

/** Publishes one iopub message parented to `parent`. */
export type IopubPublisher = (msgType: string, content: JsonObject, parent: MessageHeader) => void;

/** Writes are coalesced for this long before a `stream` message goes out. */
const FLUSH_DELAY_MS = 5;
/** A buffer this large is sent at once, even from a busy loop. */
const FLUSH_BYTES = 64 * 1024;

/** The kernel's OutputSink. */
export class IopubOutput implements OutputSink {
  private parent: MessageHeader | undefined;
  private silent = false;
  private pending: { name: 'stdout' | 'stderr'; text: string } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly publish: IopubPublisher) {}

  /** Output from now on belongs to this request (silent requests publish nothing). */
  begin(parent: MessageHeader, silent: boolean): void {
    this.flush();
    this.parent = parent;
    this.silent = silent;
  }

  /** Sends what is buffered; called before results, replies and status. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const pending = this.pending;
    this.pending = undefined;
    if (pending && this.parent) {
      this.publish('stream', { name: pending.name, text: pending.text }, this.parent);
    }
  }

  stream(name: 'stdout' | 'stderr', text: string): void {
    if (this.silent || !this.parent || text.length === 0) {
      return;
    }
    if (this.pending && this.pending.name !== name) {
      this.flush();
    }
    if (this.pending) {
      this.pending.text += text;
    } else {
      this.pending = { name, text };
    }
    if (this.pending.text.length >= FLUSH_BYTES) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
    }
  }

  display(data: MimeBundle, metadata: JsonObject, displayId?: string, update = false): void {
    if (this.silent || !this.parent) {
      return;
    }
    this.flush();
    const transient = displayId ? { display_id: displayId } : {};
    if (update && displayId) {
      this.publish('update_display_data', { data, metadata, transient }, this.parent);
    } else {
      this.publish('display_data', { data, metadata, transient }, this.parent);
    }
  }

  clear(wait: boolean): void {
    if (this.silent || !this.parent) {
      return;
    }
    this.flush();
    this.publish('clear_output', { wait }, this.parent);
  }

  /** Sends what is buffered; later output goes nowhere (kernel shutdown). */
  dispose(): void {
    this.flush();
    this.parent = undefined;
  }
}

type WriteFunction = typeof process.stdout.write;

/**
 * Sends everything written to process.stdout/stderr to `sink`. Returns a
 * function that restores the original streams.
 */
export function captureStdio(sink: OutputSink): () => void {
  const originals: [NodeJS.WriteStream, WriteFunction][] = [
    [process.stdout, process.stdout.write],
    [process.stderr, process.stderr.write],
  ];
  for (const [stream, name] of [
    [process.stdout, 'stdout'],
    [process.stderr, 'stderr'],
  ] as const) {
    const write = (
      chunk: string | Uint8Array,
      encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ): boolean => {
      const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : 'utf8';
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(encoding);
      sink.stream(name, text);
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (done) {
        process.nextTick(done);
      }
      return true;
    };
    stream.write = write as WriteFunction;
  }
  return () => {
    for (const [stream, write] of originals) {
      stream.write = write;
    }
  };
}

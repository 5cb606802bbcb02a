/**
 * The display API cells import: `import { display } from 'serverless-kernel'`.
 */
import { randomUUID } from 'node:crypto';

import { JsonObject, MimeBundle } from '../kernel/messages';
import { getOutputSink } from './sink';

/**
 * Rich-output helpers. Each call shows one new output, except on a display
 * made by `updatable()`, where every call replaces that display's output.
 * They return nothing, so a display call as a cell's last line adds no
 * execute_result.
 */
export interface Display {
  html(html: string): void;
  markdown(markdown: string): void;
  svg(svg: string): void;
  png(bytes: Uint8Array): void;
  jpeg(bytes: Uint8Array): void;
  gif(bytes: Uint8Array): void;
  latex(latex: string): void;
  javascript(code: string): void;
  /** `application/json`; the value must be JSON-serializable. */
  json(value: unknown): void;
  text(text: string): void;
  /** Any MIME type; binary data is base64-encoded. */
  raw(mimeType: string, data: string | Uint8Array): void;
  /** A whole MIME bundle with metadata. */
  bundle(data: MimeBundle, metadata?: JsonObject): void;
  /**
   * Clears the cell's output; with `wait` (`clear(true)` or `clear({ wait:
   * true })`), when the next output arrives, so an animation does not flicker.
   */
  clear(wait?: boolean | { wait?: boolean }): void;
  /** A display whose every call replaces the same output (tslab's `newDisplay`). */
  updatable(): Display;
}

function encode(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : Buffer.from(data).toString('base64');
}

function toJson(value: unknown): unknown {
  // Round-trip so the bundle holds plain JSON (throws on cycles, as it should).
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError('display.json() needs a JSON-serializable value');
  }
  return JSON.parse(text) as unknown;
}

/** Builds a Display; `target` decides the display id and whether to update. */
function createDisplay(target: () => { displayId: string; update: boolean }): Display {
  const emit = (data: MimeBundle, metadata: JsonObject = {}): void => {
    const { displayId, update } = target();
    getOutputSink().display(data, metadata, displayId, update);
  };
  const self: Display = {
    html: (html) => emit({ 'text/html': html }),
    markdown: (markdown) => emit({ 'text/markdown': markdown }),
    svg: (svg) => emit({ 'image/svg+xml': svg }),
    png: (bytes) => emit({ 'image/png': encode(bytes) }),
    jpeg: (bytes) => emit({ 'image/jpeg': encode(bytes) }),
    gif: (bytes) => emit({ 'image/gif': encode(bytes) }),
    latex: (latex) => emit({ 'text/latex': latex }),
    javascript: (code) => emit({ 'application/javascript': code }),
    json: (value) => emit({ 'application/json': toJson(value) }),
    text: (text) => emit({ 'text/plain': text }),
    raw: (mimeType, data) => emit({ [mimeType]: encode(data) }),
    bundle: (data, metadata) => emit(data, metadata),
    clear: (wait = false) => getOutputSink().clear(typeof wait === 'boolean' ? wait : wait.wait === true),
    updatable: () => {
      const displayId = randomUUID();
      let shown = false;
      return createDisplay(() => {
        const update = shown;
        shown = true;
        return { displayId, update };
      });
    },
  };
  return self;
}

/** The display API. */
export const display: Display = createDisplay(() => ({ displayId: randomUUID(), update: false }));

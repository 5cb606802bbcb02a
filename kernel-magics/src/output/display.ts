/**
 * The display API cells import: `import { display } from 'serverless-kernel'`.
 */
import { randomUUID } from 'node:crypto';

import { JsonObject, MimeBundle } from '../kernel/messages';
import { getOutputSink } from './sink';

/** A display that can be replaced in place after it was shown. */
export interface DisplayHandle {
  /** The transient display id shared by the display and its updates. */
  readonly displayId: string;
  /** Replaces the display's content with a new bundle. */
  update(data: MimeBundle, metadata?: JsonObject): void;
}

/** Rich-output helpers; every call shows one new output and returns its handle. */
export interface Display {
  html(html: string): DisplayHandle;
  markdown(markdown: string): DisplayHandle;
  svg(svg: string): DisplayHandle;
  png(bytes: Uint8Array): DisplayHandle;
  jpeg(bytes: Uint8Array): DisplayHandle;
  gif(bytes: Uint8Array): DisplayHandle;
  latex(latex: string): DisplayHandle;
  javascript(code: string): DisplayHandle;
  /** `application/json`; the value must be JSON-serializable. */
  json(value: unknown): DisplayHandle;
  text(text: string): DisplayHandle;
  /** Any MIME type; binary data is base64-encoded. */
  raw(mimeType: string, data: string | Uint8Array): DisplayHandle;
  /** A whole MIME bundle with metadata. */
  bundle(data: MimeBundle, metadata?: JsonObject): DisplayHandle;
  /** Clears the cell's output; with `wait`, when the next output arrives. */
  clear(wait?: boolean): void;
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

function show(data: MimeBundle, metadata: JsonObject, displayId: string, update: boolean): DisplayHandle {
  getOutputSink().display(data, metadata, displayId, update);
  return {
    displayId,
    update(next: MimeBundle, nextMetadata: JsonObject = {}) {
      getOutputSink().display(next, nextMetadata, displayId, true);
    },
  };
}

/** Builds a Display; `target` decides the display id and whether to update. */
function createDisplay(target: () => { displayId: string; update: boolean }): Display {
  const emit = (data: MimeBundle, metadata: JsonObject = {}): DisplayHandle => {
    const { displayId, update } = target();
    return show(data, metadata, displayId, update);
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
    clear: (wait = false) => getOutputSink().clear(wait),
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

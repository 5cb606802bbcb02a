/**
 * complete_request, inspect_request and is_complete_request. Jupyter counts
 * cursor positions in Unicode code points; JavaScript strings in UTF-16 code
 * units, so positions are converted both ways.
 */
import { CodeEngine } from './engine';
import { JsonObject, numberField, stringField } from './messages';

/** UTF-16 offset of the `codePoints`-th code point of `text`. */
export function codePointToUtf16(text: string, codePoints: number): number {
  let offset = 0;
  for (let seen = 0; seen < codePoints && offset < text.length; seen++) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff && offset + 1 < text.length ? 2 : 1;
  }
  return offset;
}

/** Number of code points in the first `utf16Offset` code units of `text`. */
export function utf16ToCodePoint(text: string, utf16Offset: number): number {
  return Array.from(text.slice(0, utf16Offset)).length;
}

function cursorOf(content: JsonObject, code: string): number {
  const pos = numberField(content, 'cursor_pos');
  const codePoints = pos === undefined ? Array.from(code).length : Math.max(0, Math.floor(pos));
  return codePointToUtf16(code, codePoints);
}

/** Answers complete_request content. */
export function completeReply(engine: CodeEngine, content: JsonObject): JsonObject {
  const code = stringField(content, 'code');
  const cursor = cursorOf(content, code);
  const completion = engine.complete(code, cursor);
  return {
    status: 'ok',
    matches: completion.matches,
    cursor_start: utf16ToCodePoint(code, completion.start),
    cursor_end: utf16ToCodePoint(code, completion.end),
    metadata: {},
  };
}

/** Answers inspect_request content. */
export function inspectReply(engine: CodeEngine, content: JsonObject): JsonObject {
  const code = stringField(content, 'code');
  const inspection = engine.inspect(code, cursorOf(content, code));
  if (!inspection) {
    return { status: 'ok', found: false, data: {}, metadata: {} };
  }
  return {
    status: 'ok',
    found: true,
    data: {
      'text/plain': inspection.text,
      'text/markdown': '```typescript\n' + inspection.text + '\n```',
    },
    metadata: {},
  };
}

/** Answers is_complete_request content. */
export function isCompleteReply(engine: CodeEngine, content: JsonObject): JsonObject {
  const verdict = engine.isComplete(stringField(content, 'code'));
  return verdict.status === 'incomplete'
    ? { status: 'incomplete', indent: verdict.indent ?? '' }
    : { status: verdict.status };
}

/**
 * Maps a remote stack trace (frames naming the program's file and lines of
 * the generated script) back to the lines of the notebook cell.
 */
import { CompiledBody, Insertion } from './compile';

/** Where a compiled body sits in its cell. */
export interface CellPosition {
  compiled: CompiledBody;
  /** 0-based line of the cell where the body starts (1: after the magic line). */
  bodyLine: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Maps `line:column` (1-based) of the generated script to the cell; undefined for generated code. */
function mapPosition(
  position: CellPosition,
  line: number,
  column: number,
): { line: number; column: number } | undefined {
  const jsLine = line - 1 - position.compiled.headerLines;
  if (jsLine < 0) {
    return undefined;
  }
  const entry = position.compiled.sourceMap.findEntry(jsLine, Math.max(0, column - 1));
  if (!('originalLine' in entry) || entry.originalLine === undefined) {
    return undefined;
  }
  const bodyCol = bodyColumn(position.compiled.insertions, entry.originalLine, entry.originalColumn);
  return { line: entry.originalLine + position.bodyLine + 1, column: bodyCol + 1 };
}

/**
 * The body's own column (0-based) of a column of the instrumented text: less
 * the text inserted before it on its line; inside an insertion, where it was inserted.
 */
function bodyColumn(insertions: readonly Insertion[], line: number, column: number): number {
  let shift = 0;
  for (const insertion of insertions) {
    if (insertion.line !== line || column < insertion.column) {
      continue;
    }
    shift += Math.min(insertion.length, column - insertion.column);
  }
  return column - shift;
}

/**
 * The stack's frames (lines starting with `at`) rewritten to `<cell>:line:col`.
 * Frames outside the program (the runtime's own) are dropped.
 */
export function mapStackFrames(stack: string, position: CellPosition): string[] {
  const filename = escapeRegExp(position.compiled.program.filename);
  const frame = new RegExp(`^(\\s+at (?:async )?)(?:(.*?) \\()?${filename}:(\\d+):(\\d+)\\)?$`);
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const match = frame.exec(line);
    if (!match) {
      continue;
    }
    const [, prefix, fn, lineText, columnText] = match;
    const mapped = mapPosition(position, Number(lineText), Number(columnText));
    const where = mapped ? `<cell>:${mapped.line}:${mapped.column}` : '<serverless wrapper>';
    // The generated wrapper function is anonymous; naming it would only confuse.
    const name = fn && fn !== 'eval' && !fn.startsWith('Object.<anonymous>') ? fn : undefined;
    frames.push(name ? `${prefix}${name} (${where})` : `${prefix}${where}`);
  }
  return frames;
}

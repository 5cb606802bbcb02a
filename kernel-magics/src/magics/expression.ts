/**
 * The value of an option that takes a TypeScript expression (`--map`) on a
 * magic line: it is written as in code, spaces included, and runs to the
 * next option. Brackets, parentheses, braces, quotes and template literals
 * are paired as they are read, so only a ` --name` at depth 0 outside quotes,
 * with `name` one of the magic's options, ends it: `x--`, `a - -b` or
 * `'--as'` inside the expression do not.
 */
const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);

/** Where an expression ends on its line and its text, or why its brackets or quotes do not pair. */
export type ScannedExpression =
  | {
      /** The expression, trimmed. */
      text: string;
      /** Index in the line just past it (at the whitespace before the next option, or the end). */
      end: number;
    }
  | { unbalanced: string };

/** Whether the text at `index` (whitespace, then `--name`) starts one of `options`. */
function startsOption(line: string, index: number, options: ReadonlySet<string>): boolean {
  const match = /^\s+(--[A-Za-z][\w-]*)(?=[\s=]|$)/.exec(line.slice(index));
  return match !== null && options.has(match[1]);
}

/** Index just past the string literal that starts at `start`, or -1 when it is not closed. */
function endOfString(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (line[i] === '\\') {
      i += 1;
    } else if (line[i] === quote) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * Reads the expression that starts at `start` in `line`; `options` are the
 * magic's long options (`--as`, ...). Columns in problems are 1-based in the expression.
 */
export function scanExpression(line: string, start: number, options: ReadonlySet<string>): ScannedExpression {
  // Open brackets, and '`' / '${' for template literals and their substitutions.
  const open: string[] = [];
  // Columns in problems count from the expression's first character.
  const origin = start + (/^\s*/.exec(line.slice(start))?.[0].length ?? 0);
  let i = start;
  while (i < line.length) {
    const ch = line[i];
    const top = open[open.length - 1];
    if (top === '`') {
      if (ch === '\\') {
        i += 2;
      } else if (ch === '`') {
        open.pop();
        i += 1;
      } else if (ch === '$' && line[i + 1] === '{') {
        open.push('${');
        i += 2;
      } else {
        i += 1;
      }
      continue;
    }
    if (ch === '"' || ch === "'") {
      const end = endOfString(line, i);
      if (end < 0) {
        return { unbalanced: `its ${ch} quote at column ${i - origin + 1} is not closed` };
      }
      i = end;
      continue;
    }
    if (ch === '`' || ch in OPENERS) {
      open.push(ch);
    } else if (CLOSERS.has(ch)) {
      const opener = open.pop();
      const expected = opener === '${' ? '}' : opener === undefined ? undefined : OPENERS[opener];
      if (expected !== ch) {
        const at = `its '${ch}' at column ${i - origin + 1}`;
        return {
          unbalanced:
            opener === undefined
              ? `${at} closes nothing open`
              : `${at} does not close the '${opener}' open there`,
        };
      }
    } else if (open.length === 0 && /\s/.test(ch) && startsOption(line, i, options)) {
      break;
    }
    i += 1;
  }
  const last = open[open.length - 1];
  if (last !== undefined) {
    return {
      unbalanced: last === '`' ? 'its template literal is not closed' : `its '${last}' is not closed`,
    };
  }
  return { text: line.slice(start, i).trim(), end: i };
}

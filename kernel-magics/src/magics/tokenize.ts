/**
 * Splits a magic line into arguments: whitespace separates them, single or
 * double quotes group (so `--map "xs.filter((x) => x > 1)"` is one
 * argument), a backslash escapes the next character outside single quotes.
 */

/** Raised for an unterminated quote in a magic line. */
export class MagicSyntaxError extends Error {
  override readonly name = 'MagicSyntaxError';
}

/** The arguments of a magic line. */
export function tokenizeMagicLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inToken = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) {
        quote = undefined;
      } else if (ch === '\\' && quote === '"' && i + 1 < line.length) {
        current += line[++i];
      } else {
        current += ch;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inToken = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) {
        args.push(current);
        current = '';
        inToken = false;
      }
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (quote) {
    throw new MagicSyntaxError(`Unterminated ${quote} quote in: ${line.trim()}`);
  }
  if (inToken) {
    args.push(current);
  }
  return args;
}

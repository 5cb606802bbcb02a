/**
 * Splits a magic line into arguments: whitespace separates them, single or
 * double quotes group (`--out 'my result'`), a backslash escapes the next
 * character outside single quotes. The value of an option that takes a
 * TypeScript expression is read as code instead (see expression.ts):
 * `--map xs.filter((x) => x > 2) --as n` gives `--map`, the expression,
 * `--as`, `n`.
 */
import { scanExpression } from './expression';

/** Raised for an unterminated quote or an expression whose brackets do not pair. */
export class MagicSyntaxError extends Error {
  override readonly name = 'MagicSyntaxError';
}

/** The options of a magic, as far as splitting its line goes. */
export interface MagicLineShape {
  /** Long options whose value is a TypeScript expression, e.g. `--map`. */
  expressionOptions: readonly string[];
  /** Every long option of the magic: a ` --name` among these ends an expression. */
  options: readonly string[];
}

const NO_EXPRESSIONS: MagicLineShape = { expressionOptions: [], options: [] };

/** The expression option that starts at `index` (`--map ` or `--map=`), if any. */
function expressionOptionAt(line: string, index: number, shape: MagicLineShape): string | undefined {
  return shape.expressionOptions.find((option) => {
    const after = line[index + option.length];
    return line.startsWith(option, index) && (after === undefined || after === '=' || /\s/.test(after));
  });
}

/** The arguments of a magic line. */
export function tokenizeMagicLine(line: string, shape: MagicLineShape = NO_EXPRESSIONS): string[] {
  const args: string[] = [];
  const options = new Set(shape.options);
  let current = '';
  let inToken = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    const expressionOption = inToken || quote ? undefined : expressionOptionAt(line, i, shape);
    if (expressionOption) {
      args.push(expressionOption);
      const after = i + expressionOption.length;
      const start = line[after] === '=' ? after + 1 : after;
      const scanned = scanExpression(line, start, options);
      if ('unbalanced' in scanned) {
        const text = line.slice(start).trim();
        throw new MagicSyntaxError(
          `${expressionOption} ${text}: ${scanned.unbalanced}. An expression runs to the next option, ` +
            `with its brackets, parentheses, braces and quotes paired. Pair them, put text with unpaired ` +
            `brackets in quotes (new RegExp('\\\\(') rather than /\\(/), or compute the value in a cell ` +
            `above (const xs = ...) and write ${expressionOption} xs.`,
        );
      }
      if (scanned.text === '') {
        throw new MagicSyntaxError(
          `${expressionOption} is given no expression; write one after it, e.g. ${expressionOption} xs.`,
        );
      }
      args.push(scanned.text);
      i = scanned.end - 1;
    } else if (quote) {
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

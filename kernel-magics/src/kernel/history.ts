/**
 * Input/output history of one kernel session, answering `history_request`
 * (tail, range, search) as IPython does.
 */

/** One stored cell: its execution count, source and text/plain result. */
interface HistoryEntry {
  line: number;
  input: string;
  output: string | null;
}

/** A history item as sent in `history_reply`. */
export type HistoryItem = [number, number, string] | [number, number, [string, string | null]];

/** The fields of a `history_request` that select entries. */
export interface HistoryQuery {
  hist_access_type: 'tail' | 'range' | 'search';
  output: boolean;
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** This kernel's session number in history replies (one session per process). */
export const HISTORY_SESSION = 1;

/** Translates a glob (`*`, `?`, `[...]`, as IPython's search) into a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      source += '[\\s\\S]*';
    } else if (ch === '?') {
      source += '[\\s\\S]';
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
      } else {
        let body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) {
          body = '^' + body.slice(1);
        }
        source += `[${body}]`;
        i = close;
      }
    } else {
      source += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** A bounded in-memory history of executed cells. */
export class HistoryStore {
  private readonly entries: HistoryEntry[] = [];

  /** @param maxEntries - oldest entries are dropped past this many. */
  constructor(private readonly maxEntries = 10_000) {}

  /** Records a cell; `output` is its text/plain result, if any. */
  record(line: number, input: string, output: string | null): void {
    this.entries.push({ line, input, output });
    if (this.entries.length > this.maxEntries) {
      this.entries.splice(0, this.entries.length - this.maxEntries);
    }
  }

  /** Answers a query with items in chronological order. */
  query(query: HistoryQuery): HistoryItem[] {
    return this.select(query).map((entry) =>
      query.output
        ? [HISTORY_SESSION, entry.line, [entry.input, entry.output]]
        : [HISTORY_SESSION, entry.line, entry.input],
    );
  }

  private select(query: HistoryQuery): HistoryEntry[] {
    switch (query.hist_access_type) {
      case 'tail':
        return lastN(this.entries, query.n);
      case 'range':
        return this.range(query);
      case 'search':
        return this.search(query);
    }
  }

  private range(query: HistoryQuery): HistoryEntry[] {
    const session = query.session ?? 0;
    // IPython: session 0 or negative counts back from the current one.
    if (session > HISTORY_SESSION || session < 0) {
      return [];
    }
    const start = query.start ?? 0;
    const stop = query.stop ?? Number.POSITIVE_INFINITY;
    return this.entries.filter((entry) => entry.line >= start && entry.line < stop);
  }

  private search(query: HistoryQuery): HistoryEntry[] {
    const regexp = globToRegExp(query.pattern ?? '*');
    let matches = this.entries.filter((entry) => regexp.test(entry.input));
    if (query.unique) {
      const seen = new Set<string>();
      const unique: HistoryEntry[] = [];
      for (let i = matches.length - 1; i >= 0; i--) {
        if (!seen.has(matches[i].input)) {
          seen.add(matches[i].input);
          unique.unshift(matches[i]);
        }
      }
      matches = unique;
    }
    return lastN(matches, query.n);
  }
}

function lastN<T>(items: T[], n: number | undefined): T[] {
  if (n === undefined || n <= 0) {
    return items.slice();
  }
  return items.slice(Math.max(0, items.length - n));
}

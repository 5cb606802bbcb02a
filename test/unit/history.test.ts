import { globToRegExp, HISTORY_SESSION, HistoryStore } from '../../kernel-magics/src/kernel/history';

describe('HistoryStore', () => {
  const store = new HistoryStore(5);
  for (const [i, code] of ['a = 1', '1 + 1', 'b = 2', '1 + 1', 'print(a)', '1 + 2'].entries()) {
    store.record(i + 1, code, code.startsWith('1') ? 'out' : null);
  }

  it('keeps only the newest entries', () => {
    expect(store.query({ hist_access_type: 'tail', output: false }).map((h) => h[1])).toEqual([
      2, 3, 4, 5, 6,
    ]);
  });

  it('answers tail with n, with and without output', () => {
    expect(store.query({ hist_access_type: 'tail', output: false, n: 2 })).toEqual([
      [HISTORY_SESSION, 5, 'print(a)'],
      [HISTORY_SESSION, 6, '1 + 2'],
    ]);
    expect(store.query({ hist_access_type: 'tail', output: true, n: 1 })).toEqual([
      [HISTORY_SESSION, 6, ['1 + 2', 'out']],
    ]);
  });

  it('answers range by line numbers [start, stop)', () => {
    expect(
      store
        .query({ hist_access_type: 'range', output: false, session: 1, start: 3, stop: 5 })
        .map((h) => h[1]),
    ).toEqual([3, 4]);
    expect(store.query({ hist_access_type: 'range', output: false, session: 7, start: 0 })).toEqual([]);
  });

  it('answers search with globs, unique and n', () => {
    expect(
      store.query({ hist_access_type: 'search', output: false, pattern: '1 +*' }).map((h) => h[2]),
    ).toEqual(['1 + 1', '1 + 1', '1 + 2']);
    expect(
      store.query({ hist_access_type: 'search', output: false, pattern: '1 + 1', unique: true }),
    ).toHaveLength(1);
    expect(
      store.query({ hist_access_type: 'search', output: false, pattern: '*', n: 2 }).map((h) => h[1]),
    ).toEqual([5, 6]);
  });

  it('translates globs like IPython', () => {
    expect(globToRegExp('a?c').test('abc')).toBe(true);
    expect(globToRegExp('a?c').test('abbc')).toBe(false);
    expect(globToRegExp('[ab]x*').test('bxyz')).toBe(true);
    expect(globToRegExp('[!ab]x').test('ax')).toBe(false);
    expect(globToRegExp('1.5*').test('1x5')).toBe(false);
  });
});

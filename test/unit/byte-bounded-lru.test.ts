/**
 * The byte-bounded LRU map behind the warm caches (ArtifactCache,
 * DatasetChunkCache): its bound, its eviction order and its byte count.
 */
import { ByteBoundedLru } from '../../kernel-magics/src/byte-bounded-lru';

function lru(maxBytes: number): ByteBoundedLru<string> {
  return new ByteBoundedLru<string>(maxBytes, (value) => value.length, 'test cache');
}

describe('ByteBoundedLru', () => {
  it('refuses a bound that is not a number of bytes, naming the cache', () => {
    expect(() => lru(-1)).toThrow('the test cache bound must be a number of bytes >= 0 (got -1)');
    expect(() => lru(Number.NaN)).toThrow(RangeError);
  });

  it('evicts the least recently used first, where get counts as a use', () => {
    const cache = lru(10);
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    expect(cache.get('a')).toBe('aaaa');
    cache.set('c', 'cccc');
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(cache.bytes).toBe(8);
    expect(cache.get('b')).toBeUndefined();
  });

  it('does not keep a value larger than the bound, and forgets what was under its key', () => {
    const cache = lru(4);
    cache.set('a', 'aa');
    cache.set('a', 'aaaaa');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('counts bytes through replace, remove and clear', () => {
    const cache = lru(100);
    cache.set('a', 'aaa');
    cache.set('a', 'aaaaa');
    cache.set('b', 'bb');
    expect(cache.bytes).toBe(7);
    cache.remove('a');
    expect(cache.bytes).toBe(2);
    cache.clear();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });
});

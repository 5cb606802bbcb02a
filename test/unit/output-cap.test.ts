/**
 * The output cap of one invocation, without a runtime: what passes, where it
 * is cut, and the one notice line.
 */
import { CappedStream, outputCapBytes } from '../../kernel-magics/src/run/output-cap';

describe('CappedStream', () => {
  function capped(capBytes: number): { stream: CappedStream; written: [string, string][] } {
    const written: [string, string][] = [];
    const stream = new CappedStream((name, text) => written.push([name, text]), capBytes, 'element 3');
    return { stream, written };
  }

  it('passes output under the cap through unchanged, and says nothing', () => {
    const { stream, written } = capped(10);
    stream.stream('stdout', 'abc');
    stream.stream('stderr', 'defg');
    stream.finish();
    expect(written).toEqual([
      ['stdout', 'abc'],
      ['stderr', 'defg'],
    ]);
  });

  it('counts stdout and stderr together in UTF-8 bytes, cuts at the cap and drops the rest', () => {
    const { stream, written } = capped(8);
    stream.stream('stdout', 'ééé'); // 6 bytes
    stream.stream('stderr', 'abcd'); // 2 kept
    stream.stream('stdout', 'x'.repeat(1024 * 1024));
    expect(written).toEqual([
      ['stdout', 'ééé'],
      ['stderr', 'ab\n'],
    ]);
    expect(stream.droppedBytes).toBe(2 + 1024 * 1024);
    stream.finish();
    stream.finish();
    expect(written.slice(2)).toEqual([
      [
        'stderr',
        '... 1.0 MB of output dropped from element 3 (cap 0.00000762939453125 MB per invocation; ' +
          'raise with --output-cap MB or %serverless config --output-cap MB)\n',
      ],
    ]);
  });

  it('defaults to a few MB', () => {
    expect(outputCapBytes(undefined)).toBe(5 * 1024 * 1024);
    expect(outputCapBytes(64)).toBe(64 * 1024 * 1024);
  });
});

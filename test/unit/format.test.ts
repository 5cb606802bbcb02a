import {
  compileErrorContent,
  errorContent,
  MIME_BUNDLE,
  toMimeBundle,
} from '../../kernel-magics/src/output/format';

describe('value formatting', () => {
  it('shows values as Node inspect does', () => {
    expect(toMimeBundle(3)).toEqual({ 'text/plain': '3' });
    expect(toMimeBundle('ab')).toEqual({ 'text/plain': "'ab'" });
    expect(toMimeBundle(new Map([[1, 'a']]))).toEqual({ 'text/plain': "Map(1) { 1 => 'a' }" });
  });

  it('uses a value’s own MIME bundle when it has one', () => {
    const rich = { [MIME_BUNDLE]: () => ({ 'text/html': '<i>x</i>' }) };
    expect(toMimeBundle(rich)['text/html']).toBe('<i>x</i>');
    expect(typeof toMimeBundle(rich)['text/plain']).toBe('string');
  });

  it('falls back to text when a custom bundle throws', () => {
    const broken = {
      [MIME_BUNDLE]: () => {
        throw new Error('no');
      },
    };
    expect(Object.keys(toMimeBundle(broken))).toEqual(['text/plain']);
  });

  it('turns thrown errors into ename/evalue/traceback without kernel frames', () => {
    const error = new RangeError('too far');
    error.stack = [
      'RangeError: too far',
      '    at f (evalmachine.<anonymous>:3:9)',
      '    at Object.execute (/x/node_modules/tslab/dist/executor.js:1:1)',
      '    at node:internal/process/task_queues:95:5',
    ].join('\n');
    expect(errorContent(error)).toEqual({
      ename: 'RangeError',
      evalue: 'too far',
      traceback: ['RangeError: too far', '    at f (<cell>:3:9)'],
    });
  });

  it('handles thrown non-errors and compile diagnostics', () => {
    expect(errorContent('oops')).toEqual({
      ename: 'Uncaught',
      evalue: "'oops'",
      traceback: ["Uncaught 'oops'"],
    });
    expect(compileErrorContent(['1:1 - bad', '2:1 - worse'])).toEqual({
      ename: 'CompileError',
      evalue: '1:1 - bad',
      traceback: ['1:1 - bad', '2:1 - worse'],
    });
  });
});

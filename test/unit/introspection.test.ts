import { codePointToUtf16, utf16ToCodePoint } from '../../kernel-magics/src/kernel/introspection';

describe('cursor positions', () => {
  const text = 'const 😀 = "é"; x';

  it('maps code points to UTF-16 offsets and back around astral characters', () => {
    const emoji = Array.from(text).indexOf('😀');
    expect(codePointToUtf16(text, emoji + 1)).toBe(text.indexOf('😀') + 2);
    for (let cp = 0; cp <= Array.from(text).length; cp++) {
      expect(utf16ToCodePoint(text, codePointToUtf16(text, cp))).toBe(cp);
    }
  });

  it('clamps past the end', () => {
    expect(codePointToUtf16('ab', 10)).toBe(2);
  });
});

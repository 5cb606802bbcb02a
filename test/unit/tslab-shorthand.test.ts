/**
 * Shorthand properties naming an earlier cell's declaration (`{ aa }` after
 * `const aa = 1;` in a previous cell): the rewrite itself (which shorthands
 * are written out, and how positions map back), then the real tslab engine
 * running such cells, with the positions the user sees (compile diagnostics,
 * runtime frames, completion, inspection, is_complete).
 */
import { ExecutionOutcome } from '../../kernel-magics/src/kernel/engine';
import { errorContent } from '../../kernel-magics/src/output/format';
import { TslabEngine } from '../../kernel-magics/src/tslab';
import { expandEarlierCellShorthands } from '../../kernel-magics/src/tslab-shorthand';

/** tslab's declarations after a cell `const aa = 1; let bb = 'b';` (as its converter writes them). */
const EARLIER = 'declare const aa = 1;\ndeclare let bb: string;\n';

describe('writing out shorthand properties (the rewrite alone)', () => {
  it.each([
    ['({ aa })', '({ aa: aa })'],
    ['f({ aa, bb, cc })', 'f({ aa: aa, bb: bb, cc })'],
    ['({ o: { aa, p: { bb } } })', '({ o: { aa: aa, p: { bb: bb } } })'],
    ['() => ({ aa })', '() => ({ aa: aa })'],
    ['function g(x = { aa }) { return x; }', 'function g(x = { aa: aa }) { return x; }'],
    ['({ bb } = { bb: "c" })', '({ bb: bb } = { bb: "c" })'],
    ['({ bb = "d" } = {})', '({ bb: bb = "d" } = {})'],
  ])('writes out %s', (code, expected) => {
    expect(expandEarlierCellShorthands(EARLIER, code).code).toBe(expected);
  });

  it.each([
    ['a destructuring declaration', 'const { aa } = { aa: 2 }; ({ aa })'],
    ['a name the cell declares after using it', '({ aa }); const aa = 3;'],
    ['a parameter', 'function g(aa: number) { return { aa }; }'],
    ['a name hoisted in a nested function', 'function g() { const o = { aa }; var aa = 4; return o; }'],
    ['a name the cell imports', 'import { aa } from "./m"; ({ aa })'],
    ['a name no earlier cell declares', '({ console, cc })'],
    ['a cell that does not parse', '({ aa }'],
    ['an optional mark the checker refuses', '({ aa? })'],
  ])('leaves %s alone', (_what, code) => {
    const expansion = expandEarlierCellShorthands(EARLIER, code);
    expect(expansion.changed).toBe(false);
    expect(expansion.code).toBe(code);
  });

  it('reads every kind of value declaration tslab keeps, and no type-only one', () => {
    const declarations = [
      'import * as ns from "m";',
      'import def, { named, type OnlyType } from "m";',
      'import type { AlsoType } from "m";',
      'declare function fn(): void;',
      'declare class Cls {}',
      'declare enum En { A = 0 }',
      'interface Iface {}',
      'type Alias = 1;',
      'declare const d1: number, d3: number;',
      'let anyVar: any;',
    ].join('\n');
    const names = ['ns', 'def', 'named', 'fn', 'Cls', 'En', 'd1', 'd3', 'anyVar'];
    const typeNames = ['OnlyType', 'AlsoType', 'Iface', 'Alias'];
    const code = `({ ${[...names, ...typeNames].join(', ')} })`;
    expect(expandEarlierCellShorthands(declarations, code).code).toBe(
      `({ ${[...names.map((n) => `${n}: ${n}`), ...typeNames].join(', ')} })`,
    );
  });

  it('maps positions after, inside and before the inserted text back to the cell', () => {
    const code = 'x; ({ aa, bb }); y;\nz;';
    const expansion = expandEarlierCellShorthands(EARLIER, code);
    expect(expansion.code).toBe('x; ({ aa: aa, bb: bb }); y;\nz;');
    const at = (offset: number, line = 0, character = offset) => ({ offset, line, character });
    const written = expansion.code;
    // `y` after both insertions, `z` on the next line (its offset shifts, not its column).
    expect(expansion.toCell(at(written.indexOf('y')), 'start')).toEqual(at(code.indexOf('y')));
    expect(expansion.toCell(at(written.indexOf('z'), 1, 0), 'start')).toEqual(at(code.indexOf('z'), 1, 0));
    // The written-out value `bb` is the shorthand's name: its start and end are the name's.
    const value = written.indexOf('bb: bb') + 4;
    expect(expansion.toCell(at(value), 'start')).toEqual(at(code.indexOf('bb')));
    expect(expansion.toCell(at(value + 2), 'end')).toEqual(at(code.indexOf('bb') + 2));
    // The name `aa` ends where the insertion starts: an end there is the name's end.
    expect(expansion.toCell(at(written.indexOf('aa') + 2), 'end')).toEqual(at(code.indexOf('aa') + 2));
    expect(expansion.toCell(at(1), 'start')).toEqual(at(1));
  });
});

describe('cells using earlier cells’ declarations as shorthand properties (tslab engine)', () => {
  let engine: TslabEngine;

  beforeAll(async () => {
    engine = new TslabEngine(process.cwd());
    const setUp = [
      "const aa = 1; let bb = 'b'; function ff() { return 'f'; } class Cc { v = 'c'; }",
      "import * as nodePath from 'node:path'; import { basename } from 'node:path';",
    ];
    for (const cell of setUp) {
      expect(await engine.execute(cell)).toMatchObject({ status: 'ok' });
    }
  });

  afterAll(() => engine.dispose());

  async function value(code: string): Promise<unknown> {
    const outcome = await engine.execute(code);
    expect(outcome).toMatchObject({ status: 'ok' });
    return (outcome as { value?: unknown }).value;
  }

  function errorOf(outcome: ExecutionOutcome): Error {
    expect(outcome.status).toBe('error');
    return (outcome as { error: Error }).error;
  }

  function diagnosticsOf(outcome: ExecutionOutcome): string[] {
    expect(outcome.status).toBe('compile-error');
    return (outcome as { diagnostics: string[] }).diagnostics;
  }

  it('reads a const, a let, a function, a class and imports (namespace and named)', async () => {
    expect(await value('JSON.stringify({ aa, bb })')).toBe('{"aa":1,"bb":"b"}');
    expect(
      await value(
        "const got = { ff, Cc, nodePath, basename }; [got.ff(), new got.Cc().v, got.nodePath.sep, got.basename('/x/y.ts')]",
      ),
    ).toEqual(['f', 'c', '/', 'y.ts']);
  });

  it('reads them in nested objects, function bodies, awaited calls, returned objects and default parameters', async () => {
    expect(await value('({ outer: { aa, inner: { bb } } })')).toEqual({
      outer: { aa: 1, inner: { bb: 'b' } },
    });
    expect(await value('function wrap() { return { aa }; }\nwrap()')).toEqual({ aa: 1 });
    expect(await value('const awaited = await Promise.resolve({ aa });\nawaited')).toEqual({ aa: 1 });
    expect(await value('const arrow = () => ({ aa, ff });\narrow().ff()')).toBe('f');
    expect(await value('function withDefault(given = { bb }) { return given; }\nwithDefault()')).toEqual({
      bb: 'b',
    });
  });

  it('assigns through an assignment pattern as `bb = ...` would, defaults included', async () => {
    await value("({ bb } = { bb: 'assigned' });");
    expect(await value('bb')).toBe('assigned');
    await value("({ bb = 'default' } = {});");
    expect(await value('bb')).toBe('default');
    await value("bb = 'b';");
  });

  it('reports a runtime error later on the line where the explicit form does', async () => {
    const frames = async (objectLiteral: string): Promise<string[]> => {
      const error = errorOf(
        await engine.execute(
          `function later() { const o = ${objectLiteral}; return (o as any).missing.field; }\nlater()`,
        ),
      );
      expect(error.message).toMatch(/Cannot read properties of undefined \(reading 'field'\)/);
      // What the user sees: the traceback the kernel publishes.
      return errorContent(error).traceback.filter((line) => line.includes('<cell>:'));
    };
    const shorthand = await frames('{ bb }');
    expect(shorthand[0]).toMatch(/^ +at later \(<cell>:\d+:\d+\)$/);
    // tslab's frames are positions in the JavaScript it emits; the shorthand
    // emits exactly what `{ bb: bb }` does, so the frames are the same.
    expect(shorthand).toEqual(await frames('{ bb: bb }'));
  });

  it('reports compile errors after and on a shorthand at the cell’s columns', async () => {
    const after =
      "const withShorthand = { aa, bb }; const wrong: string = 3;\nconst alsoWrong: number = 'x';";
    expect(diagnosticsOf(await engine.execute(after))).toEqual([
      `1:${after.indexOf('wrong') + 1} - Type 'number' is not assignable to type 'string'.`,
      `2:7 - Type 'string' is not assignable to type 'number'.`,
    ]);
    // aa is a const: the error is on the shorthand's name, as TypeScript puts it.
    const onName = 'const before = 0; ({ aa } = { aa: 2 });';
    expect(diagnosticsOf(await engine.execute(onName))).toEqual([
      `1:${onName.indexOf('aa') + 1} - Cannot assign to 'aa' because it is a constant.`,
    ]);
  });

  it('completes, inspects and judges completeness on the cell as written', () => {
    const code = 'const p = { aa, bb }; p.';
    expect(engine.complete(code, code.length)).toMatchObject({ start: code.length, end: code.length });
    expect(engine.complete(code, code.length).matches).toEqual(expect.arrayContaining(['aa', 'bb']));
    const partial = '({ aa, bb: nodePath.bas';
    expect(engine.complete(partial, partial.length)).toMatchObject({
      start: partial.length - 3,
      end: partial.length,
      matches: expect.arrayContaining(['basename']) as unknown,
    });
    expect(engine.inspect('({ ff })', 4)?.text).toMatch(/ff.*\(\) => string|function ff\(\): string/);
    expect(engine.isComplete('({ aa,')).toEqual({ status: 'incomplete', indent: '  ' });
    expect(engine.isComplete('({ aa })')).toEqual({ status: 'complete' });
  });

  // Last: it redeclares `aa` for the cells after it.
  it('uses the cell’s own declaration when it makes one, in any scope', async () => {
    expect(await value("const shadow = ((aa: string) => ({ aa }))('param'); shadow")).toEqual({
      aa: 'param',
    });
    expect(await value("const { aa } = { aa: 'destructured' }; JSON.stringify({ aa })")).toBe(
      '{"aa":"destructured"}',
    );
    // The redeclaration is the kernel's `aa` from now on.
    expect(await value('({ aa })')).toEqual({ aa: 'destructured' });
  });
});

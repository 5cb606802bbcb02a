/**
 * The kernel side of a `%%serverless` run, before any backend: free
 * identifiers, capture planning and serialization, the compiled program (run
 * here in-process through vm, exactly as an environment runs it) and the
 * mapping of its stack frames back to cell lines.
 */
import * as net from 'node:net';
import { createRequire } from 'node:module';
import { deserialize } from 'node:v8';
import { runInThisContext } from 'node:vm';

import { analyzeBody } from '../../kernel-magics/src/plan/analyze';
import { CaptureError, planCaptures, serializeCaptures } from '../../kernel-magics/src/plan/capture';
import { compileBody, CompileOptions } from '../../kernel-magics/src/plan/compile';
import { declarationCell, typeOfValue } from '../../kernel-magics/src/plan/declare';
import { mapStackFrames } from '../../kernel-magics/src/plan/stack-map';
import { ProgramResult } from '../../kernel-magics/src/runtime/backend';

type ProgramFn = (
  captures: Record<string, unknown>,
  element: unknown,
  require: NodeJS.Require,
) => Promise<ProgramResult>;

function compile(body: string, options: Partial<CompileOptions> = {}) {
  const analysis = analyzeBody(body);
  const compiled = compileBody(analysis, {
    captured: [],
    functions: new Map(),
    tensors: [],
    collectExports: true,
    filename: 'serverless-cell-test',
    ...options,
  });
  const fn = runInThisContext(compiled.program.source, { filename: compiled.program.filename }) as ProgramFn;
  return { analysis, compiled, fn };
}

describe('free identifiers', () => {
  it('finds reads that the body does not declare, and nothing else', () => {
    const { freeIdentifiers } = analyzeBody(`
      const a = b + c.d;                 // b, c free; d is a property
      function f(x: Foo) { return x + y + arguments.length; }   // y free, Foo a type
      const { e, g: h } = src;           // src free; e, h declared
      lbl: for (const i of k) { if (i) break lbl; }              // k free, label not
      const obj = { q: 1, w, [z]: 2 };   // w (shorthand) and z free; q a key
      class C { m() { return shadow; } } // shadow free
      let shadow2 = 1; { let shadow2 = 2; shadow2; }
      (p: number) => p * scale;          // scale free
      new Map<string, Bar>();            // Map free (a global), Bar a type
    `);
    expect(freeIdentifiers.sort()).toEqual(['Map', 'b', 'c', 'k', 'scale', 'shadow', 'src', 'w', 'y', 'z']);
  });

  it('lists top-level declarations (with destructuring) and the last expression', () => {
    const analysis = analyzeBody(
      'const x = 1;\nlet { y, z: [w] } = o;\nfunction inner() { const no = 1; }\nx + y',
    );
    expect(analysis.declaredNames).toEqual(['x', 'y', 'w']);
    expect(analysis.lastExpression?.getText()).toBe('x + y');
    expect(analyzeBody('const x = 1;').lastExpression).toBeUndefined();
  });

  it('reports syntax errors with body lines', () => {
    expect(analyzeBody('const ok = 1;\nconst = 2;').syntaxErrors[0]).toMatch(/^2:\d+ - /);
  });
});

describe('captures', () => {
  it('ships data, typed arrays included, and closure-free functions as code', () => {
    const kernel: Record<string, unknown> = {
      data: new Float32Array([1, 2, 3]),
      scale: 2,
      double: (v: number) => v * 2,
      unused: 'not captured',
    };
    const plan = planCaptures(['data', 'scale', 'double', 'Math'], kernel, new Set());
    expect(Object.keys(plan.data)).toEqual(['data', 'scale']);
    expect([...plan.functions.keys()]).toEqual(['double']);
    const { bytes } = serializeCaptures(plan.data);
    const back = deserialize(bytes) as { data: Float32Array };
    // (jest's sandbox has its own Float32Array constructor: compare the tag)
    expect(Object.prototype.toString.call(back.data)).toBe('[object Float32Array]');
    expect([...back.data]).toEqual([1, 2, 3]);
  });

  it('follows functions to the kernel variables they use', () => {
    const kernel: Record<string, unknown> = { factor: 3 };
    // A kernel function whose source names another kernel variable.
    kernel.times = runInThisContext('(function times(v) { return v * factor; })') as unknown;
    const plan = planCaptures(['times'], kernel, new Set());
    expect(plan.data).toEqual({ factor: 3 });
  });

  it('names the variable when a function uses its closure', () => {
    const hidden = 5;
    const kernel = { f: (v: number) => v + hidden };
    expect(() => planCaptures(['f'], kernel, new Set())).toThrow(CaptureError);
    expect(() => planCaptures(['f'], kernel, new Set())).toThrow(/'f'.*'hidden' from its closure/);
  });

  it('names the variable for values that cannot be serialized', () => {
    const socket = new net.Socket();
    try {
      for (const [name, value, pattern] of [
        ['weak', new WeakMap(), /'weak'.*WeakMap/],
        ['sock', socket, /'sock'/],
      ] as const) {
        let caught: unknown;
        try {
          serializeCaptures(planCaptures([name], { [name]: value }, new Set()).data);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CaptureError);
        expect((caught as CaptureError).variable).toBe(name);
        expect((caught as Error).message).toMatch(pattern);
      }
    } finally {
      socket.destroy();
    }
  });

  it('refuses a class instance anywhere in a variable, naming the variable, where it is and its class', () => {
    class Pt {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const refusal = (name: string, kernel: Record<string, unknown>): CaptureError => {
      try {
        planCaptures([name], kernel, new Set());
      } catch (error) {
        return error as CaptureError;
      }
      throw new Error(`${name} was not refused`);
    };
    const direct = refusal('p', { p: new Pt(3, 4), Pt });
    expect(direct).toBeInstanceOf(CaptureError);
    expect(direct.variable).toBe('p');
    expect(direct.message).toMatch(
      /Cannot send 'p' to the invocation: p is an instance of class Pt, and only its data would arrive.*Pass plain data.*build the instance inside the %%serverless cell \(Pt itself travels as code/,
    );
    expect(refusal('pts', { pts: { list: [1, new Pt(1, 2)] } }).message).toMatch(
      /pts\.list\[1\] is an instance of class Pt/,
    );
    expect(refusal('m', { m: new Map([['a', new Pt(1, 2)]]) }).message).toMatch(
      /m\.get\("a"\) is an instance/,
    );
    expect(refusal('o', { o: Object.create({ greet: () => 1 }) as object }).message).toMatch(
      /o is an instance of an anonymous class/,
    );
    class MyError extends Error {}
    expect(refusal('e', { e: new MyError('x') }).message).toMatch(/class MyError/);
  });

  it('ships built-in types as data, from this realm or another', () => {
    const here = {
      map: new Map([[1, { a: [1] }]]),
      set: new Set([new Date(0)]),
      re: /x/g,
      error: new RangeError('r'),
      boxed: Object(3) as object,
      bytes: Buffer.from('hi'),
      floats: new Float64Array(2),
      buffer: new ArrayBuffer(4),
      bare: Object.create(null) as object,
      cyclic: {} as Record<string, unknown>,
    };
    here.cyclic.self = here.cyclic;
    // Built by the main realm's constructors, not jest's sandbox's.
    const there = runInThisContext(
      '({ map: new Map([[1, [new Date(0)]]]), re: /y/, e: new TypeError("t") })',
    ) as object;
    const plan = planCaptures(['here', 'there'], { here, there }, new Set());
    expect(Object.keys(plan.data)).toEqual(['here', 'there']);
  });

  it('leaves out the --map element name and names not in the kernel', () => {
    const plan = planCaptures(['item', 'x', 'console'], { item: 1, x: 2 }, new Set(['item']));
    expect(plan.data).toEqual({ x: 2 });
  });
});

describe('compiled program', () => {
  it('returns the last expression and the top-level declarations, with captures and element bound', async () => {
    const { fn } = compile('const sq = item * item;\nlet label = `n=${item}`;\nsq + offset', {
      captured: ['offset'],
      elementName: 'item',
    });
    const result = await fn({ offset: 10 }, 4, require);
    expect(result).toEqual({ hasValue: true, value: 26, exports: { sq: 16, label: 'n=4' } });
  });

  it('supports imports (as require), top-level await and TypeScript syntax', async () => {
    const { fn } = compile(
      "import * as path from 'node:path';\ninterface P { a: number }\nconst p: P = { a: await Promise.resolve(2) };\npath.join('a', String(p.a))",
    );
    const result = await fn({}, undefined, createRequire(__filename));
    expect(result.value).toBe('a/2');
  });

  it('has no value when the body ends with a statement', async () => {
    const { fn } = compile('const x = 1;');
    expect((await fn({}, undefined, require)).hasValue).toBe(false);
  });

  it('defines shipped functions before the body', async () => {
    const { fn } = compile('double(21)', { functions: new Map([['double', '(v) => v * 2']]) });
    expect((await fn({}, undefined, require)).value).toBe(42);
  });

  it('maps remote stack frames to cell lines (body starts on cell line 2)', async () => {
    const { fn, compiled } = compile(
      "import * as os from 'node:os';\nconst a: number = 1;\nfunction boom(): never {\n  throw new Error('bad ' + a);\n}\nboom();",
      { functions: new Map([['helper', '() => {\n  return 1;\n}']]) },
    );
    let stack = '';
    try {
      await fn({}, undefined, require);
    } catch (error) {
      stack = (error as Error).stack ?? '';
    }
    expect(stack).toContain('serverless-cell-test');
    const frames = mapStackFrames(stack, { compiled, bodyLine: 1 });
    // `throw` is body line 4, cell line 5; the call `boom()` body line 6, cell line 7.
    expect(frames[0]).toMatch(/at boom \(<cell>:5:\d+\)/);
    expect(frames[1]).toMatch(/<cell>:7:\d+/);
    expect(frames.join('\n')).not.toContain('serverless-cell-test');
  });
});

describe('declarations of returned values', () => {
  it('reads TypeScript types off structured-clone values', () => {
    expect(typeOfValue(1)).toBe('number');
    expect(typeOfValue([1, 2])).toBe('(number)[]');
    expect(typeOfValue({ a: 'x', 'b-c': [true] })).toBe('{ a: string; "b-c": (boolean)[] }');
    expect(typeOfValue(new Map([['k', 1]]))).toBe('Map<string, number>');
    expect(typeOfValue(new Float64Array(2))).toBe('Float64Array');
    expect(typeOfValue([1, 'a', null])).toBe('(number | string | null)[]');
    // eslint-disable-next-line no-sparse-arrays -- a map's failed elements leave holes
    expect(typeOfValue([1, , 3])).toBe('(number | undefined)[]');
  });

  it('writes declarations that never embed values', () => {
    const cell = declarationCell({ secret: 'do-not-embed', n: 1, 'bad name': 2 }, 'let');
    expect(cell).not.toContain('do-not-embed');
    expect(cell).not.toContain('bad name');
    expect(cell).toMatch(/^let secret: string = .*\["secret"\] as string;$/m);
  });
});

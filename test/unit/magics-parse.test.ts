import { cellMagicHelp } from '../../kernel-magics/src/magics/cell-program';
import { isServerlessCell, parseCellMagic, parseLineMagic } from '../../kernel-magics/src/magics/parse';
import { tokenizeMagicLine } from '../../kernel-magics/src/magics/tokenize';
import { MagicUsageError } from '../../kernel-magics/src/magics/usage';
import { CELL_MAGIC_OPTIONS } from '../helpers/magic-options';

describe('tokenizeMagicLine', () => {
  it('splits on whitespace and groups quotes', () => {
    expect(tokenizeMagicLine(`--map "xs.filter((x) => x > 1)" --as  x  --out 'my result'`)).toEqual([
      '--map',
      'xs.filter((x) => x > 1)',
      '--as',
      'x',
      '--out',
      'my result',
    ]);
    expect(tokenizeMagicLine(String.raw`--map "say(\"hi\")" a\ b`)).toEqual(['--map', 'say("hi")', 'a b']);
    expect(tokenizeMagicLine('   ')).toEqual([]);
  });

  it('rejects an unterminated quote', () => {
    expect(() => tokenizeMagicLine('--map "oops')).toThrow(/Unterminated " quote/);
  });
});

describe('--map expressions', () => {
  const optionsOf = (line: string) => {
    const parsed = parseCellMagic(`%%serverless ${line}\nx`);
    if (parsed.kind !== 'run') throw new Error('help');
    return parsed.options;
  };

  it.each([
    ['--map [1, 2, 3, 4] --as n', '[1, 2, 3, 4]'],
    ['--map xs.filter((x) => x > 2) --as n', 'xs.filter((x) => x > 2)'],
    ['--map=[1, 2] --as n', '[1, 2]'],
    ['--map a - -b --as n', 'a - -b'],
    ['--map x-- --as n', 'x--'],
    ['--map a --b --as n', 'a --b'],
    [
      `--map ['--as', "x --out y", \`--dry-run \${f({ a: '}' })}\`] --as n`,
      `['--as', "x --out y", \`--dry-run \${f({ a: '}' })}\`]`,
    ],
    ['--map new Map([[1, { a: [2] }]]).keys() --as n', 'new Map([[1, { a: [2] }]]).keys()'],
    ['--map xs.map((x) => x --as) --as n', 'xs.map((x) => x --as)'],
  ])('%s reads the expression as written', (line, expression) => {
    expect(optionsOf(line)).toMatchObject({ map: expression, as: 'n' });
  });

  it('ends the expression at the next option, whatever follows', () => {
    expect(optionsOf('--map [1, 2]   --out ys --memory 512')).toMatchObject({
      map: '[1, 2]',
      out: 'ys',
      memoryMb: 512,
    });
  });

  it.each([
    [
      '--map xs.filter((x) => x > 2 --as n',
      /--map xs\.filter\(\(x\) => x > 2 --as n: its '\(' is not closed/,
    ],
    ['--map [1, 2) --as n', /its '\)' at column 6 does not close the '\[' open there/],
    ['--map xs] --as n', /its '\]' at column 3 closes nothing open/],
    ["--map ['a] --as n", /its ' quote at column 2 is not closed/],
    ['--map `a${b --as n', /its '\$\{' is not closed/],
  ])('refuses %s, showing the expression and how to quote it', (line, problem) => {
    expect(() => parseCellMagic(`%%serverless ${line}\nx`)).toThrow(problem);
    expect(() => parseCellMagic(`%%serverless ${line}\nx`)).toThrow(
      /put text with unpaired brackets in quotes \(new RegExp\('\\\\\('\) rather than \/\\\(\/\)/,
    );
  });
});

describe('--store', () => {
  const storeOf = (line: string) => {
    const parsed = parseCellMagic(`%%serverless ${line}\nx`);
    if (parsed.kind !== 'run') throw new Error('help');
    return parsed.options.store;
  };

  it.each([
    ['', undefined],
    ['--store embedded', 'embedded'],
    ['--store redis://127.0.0.1:6390/2', 'redis://127.0.0.1:6390/2?prefix=serverless-kernel%3A'],
    ['--store s3://bucket/runs?region=eu-west-1', 's3://bucket/runs/?region=eu-west-1'],
  ])('%s gives the store the exchange and models of the run use', (line, store) => {
    expect(storeOf(line)).toBe(store);
  });

  it.each([
    ['--store ftp://host', /not a store URL/],
    ['--store redis://:hunter2@127.0.0.1:6379', /SERVERLESS_REDIS_PASSWORD/],
    ['--store embedded:/elsewhere', /the embedded store is the directory \$SERVERLESS_STORE names/],
  ])('refuses %s, saying what to write instead', (line, problem) => {
    expect(() => parseCellMagic(`%%serverless ${line}\nx`)).toThrow(problem);
    expect(() => parseCellMagic(`%%serverless ${line}\nx`)).not.toThrow(/hunter2/);
  });
});

describe('parseCellMagic', () => {
  it('applies defaults', () => {
    const parsed = parseCellMagic('%%serverless\nconst y = 1;\ny');
    expect(parsed).toEqual({
      kind: 'run',
      body: 'const y = 1;\ny',
      bodyLine: 1,
      options: {
        backend: 'local',
        memoryMb: 1024,
        timeoutS: 60,
        concurrency: 8,
        retries: 2,
        map: undefined,
        maxElements: 100_000,
        as: undefined,
        out: undefined,
        budgetUsd: undefined,
        dryRun: false,
        outputCapMb: 5,
        cpu: 'lambda',
      },
    });
  });

  it('reads every option', () => {
    const parsed = parseCellMagic(
      '%%serverless --backend lambda --memory 2048 --timeout 5 --concurrency 16 --retries 0 ' +
        "--map range(10) --max-elements 20 --as n --out squares --budget 0.25 --dry-run --files 'data/{a,b}/*.csv' --output-cap 64 --cpu host\nn * n",
    );
    expect(parsed.kind === 'run' && parsed.options).toEqual({
      backend: 'lambda',
      memoryMb: 2048,
      timeoutS: 5,
      concurrency: 16,
      retries: 0,
      map: 'range(10)',
      maxElements: 20,
      as: 'n',
      out: 'squares',
      budgetUsd: 0.25,
      dryRun: true,
      files: 'data/{a,b}/*.csv',
      outputCapMb: 64,
      cpu: 'host',
    });
  });

  it('prints help with every option', () => {
    const parsed = parseCellMagic('%%serverless --help\nx');
    expect(parsed.kind).toBe('help');
    const text = cellMagicHelp();
    for (const flag of CELL_MAGIC_OPTIONS) {
      expect(text).toContain(flag);
    }
  });

  it('names a misspelled option, suggests the right one and lists the valid ones', () => {
    expect(() => parseCellMagic('%%serverless --memroy 512\nx')).toThrow(MagicUsageError);
    try {
      parseCellMagic('%%serverless --memroy 512\nx');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("unknown option '--memroy'");
      expect(message).toContain('Did you mean --memory?');
      expect(message).toContain('Valid options: --backend <name>, --memory <MB>');
    }
  });

  it.each([
    ['--memory 64', /--memory must be a whole number from 128 to 10240/],
    ['--memory lots', /--memory must be a whole number/],
    ['--timeout 901', /--timeout must be a whole number from 1 to 900/],
    ['--concurrency 0', /--concurrency must be a whole number from 1/],
    ['--backend gcp', /Allowed choices are local, lambda/],
    ['--budget -1', /must be a positive amount/],
    ['--out 1abc', /must be a JavaScript identifier/],
    ['--as x', /--as names the element of --map/],
    ['--memory', /argument missing/],
    ['--map --as n', /--map is given no expression; write one after it/],
    ['--map', /--map is given no expression/],
    ['stray', /too many arguments/],
    ['--out "open', /Unterminated " quote/],
    ['--memory 512 --memory 1024', /--memory is given 2 times \(512, 1024\); give it once/],
    ['--dry-run --map xs --dry-run', /--dry-run is given 2 times; give it once/],
    ['--map=xs --map ys', /--map is given 2 times \(xs, ys\)/],
    ...['class', 'let', 'yield', 'await', 'static', 'implements', 'arguments'].map((word) => [
      `--map xs --as ${word}`,
      new RegExp(`'${word}' is a reserved word in JavaScript`),
    ]),
    ['--out package', /'package' is a reserved word in JavaScript/],
    ['--map xs --as require', /'require' is already bound in the code an invocation runs/],
  ] as Array<[string, RegExp]>)('rejects %s', (args, message) => {
    expect(() => parseCellMagic(`%%serverless ${args}\nx`)).toThrow(message);
  });

  it('lets the cell’s own options win over session defaults (a repeat across the two is no error)', () => {
    const parsed = parseCellMagic('%%serverless --memory 512\nx', ['--memory', '256', '--timeout', '5']);
    expect(parsed.kind === 'run' && [parsed.options.memoryMb, parsed.options.timeoutS]).toEqual([512, 5]);
  });

  it('rejects a cell without a body', () => {
    expect(() => parseCellMagic('%%serverless --memory 512\n   \n')).toThrow(/no code below the magic line/);
  });

  it('recognises serverless cells by their first line only', () => {
    expect(isServerlessCell('%%serverless --memory 512\n1')).toBe(true);
    expect(isServerlessCell('  %%serverless\n1')).toBe(true);
    expect(isServerlessCell('1\n%%serverless')).toBe(false);
    expect(isServerlessCell('%%serverlessly\n1')).toBe(false);
  });
});

describe('parseLineMagic', () => {
  it('parses commands and their arguments', () => {
    expect(parseLineMagic('%serverless cost')).toEqual({ command: 'cost', args: [] });
    expect(parseLineMagic('%serverless retry --concurrency 4')).toEqual({
      command: 'retry',
      args: ['--concurrency', '4'],
    });
    expect(parseLineMagic('%serverless')).toEqual({ command: 'help', args: [] });
    expect(parseLineMagic('const x = 1')).toBeUndefined();
  });

  it('names an unknown command and lists the valid ones', () => {
    expect(() => parseLineMagic('%serverless costs')).toThrow(
      "%serverless: unknown command 'costs'. Valid commands: config, status, cost, retry, deploy, help.",
    );
  });
});

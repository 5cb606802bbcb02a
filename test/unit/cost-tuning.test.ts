/**
 * The tuner's decisions (cost/tuning.ts) and what it shows (cost/tune-format.ts),
 * apart from running anything: rows from runs and predictions, the pick per
 * goal and deadline, which size to run next, the table and the chart.
 */
import { DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import { profileSample, ProgramProfiles } from '../../kernel-magics/src/cost/profiles';
import {
  PLOTLY_MIME,
  tuneFigure,
  tuneTableHtml,
  tuneTableText,
} from '../../kernel-magics/src/cost/tune-format';
import {
  bestCandidate,
  nextProbe,
  pickSize,
  SizeRun,
  TunedRun,
  tuneRow,
  TuneRow,
} from '../../kernel-magics/src/cost/tuning';

const GRID = [128, 256, 512, 1024, 1769, 3008];
const PRICING = { prices: DEFAULT_PRICES, arch: 'x86_64' as const };
const RUN: TunedRun = { invocations: 1, concurrency: 1, timeoutS: 60 };

/** The rows of GRID for a program measured as `samples` (memory, duration, CPU, peak), with `runs` known. */
function rowsFor(
  samples: [number, number, number, number][],
  runs: [number, SizeRun][],
  run: TunedRun = RUN,
): TuneRow[] {
  const profiles = new ProgramProfiles();
  for (const [memoryMb, durationMs, cpuMs, peakMb] of samples) {
    profiles.record('p', profileSample({ memoryMb, durationMs, cpuMs, share: 1, peakMb }));
  }
  const known = new Map(runs);
  return GRID.map((memoryMb) =>
    tuneRow(memoryMb, known, profiles.predict('p', memoryMb, 'lambda'), run, PRICING),
  );
}

describe('tuner rows', () => {
  it('predicts every size from the biggest, and marks the ones it ran', () => {
    // 200 ms of CPU and 100 ms of waiting at 3008 MB, 60 MB peak.
    const rows = rowsFor([[3008, 300, 200, 60]], [[3008, 'ok']]);
    expect(rows.map((r) => r.status)).toEqual([
      'modelled',
      'modelled',
      'modelled',
      'modelled',
      'modelled',
      'measured',
    ]);
    expect(rows[0].perInvocationMs).toBeCloseTo(100 + (200 * 1769) / 128, 6);
    expect(rows[4].perInvocationMs).toBeCloseTo(300, 6);
    // 60 MB is over 80% of nothing here: every size is sure to fit.
    expect(rows.some((r) => r.unsure)).toBe(false);
    expect(rows[5].how).toBe('ran here (1 invocation)');
    expect(rows[0].how).toBe('modelled from 3008 MB');
  });

  it('is unsure of sizes near or under the peak, until a smaller one fits', () => {
    const rows = rowsFor([[3008, 300, 10, 300]], [[3008, 'ok']]);
    expect(rows.filter((r) => r.unsure).map((r) => r.memoryMb)).toEqual([128, 256]);
    const cleared = rowsFor(
      [
        [3008, 300, 10, 300],
        [256, 300, 10, 200],
      ],
      [
        [3008, 'ok'],
        [256, 'ok'],
      ],
    );
    expect(cleared.filter((r) => r.unsure).map((r) => r.memoryMb)).toEqual([128]);
  });

  it('condemns every size below one that ran out of memory or time, and predicts timeouts', () => {
    const rows = rowsFor(
      [[3008, 300, 10, 300]],
      [
        [3008, 'ok'],
        [256, 'out-of-memory'],
      ],
    );
    expect(rows[0]).toMatchObject({ status: 'out-of-memory', how: 'ran out of memory at 256 MB' });
    expect(rows[1]).toMatchObject({ status: 'out-of-memory', how: 'ran out of memory here' });
    const slow = rowsFor([[3008, 5000, 5000, 50]], [[3008, 'ok']], { ...RUN, timeoutS: 10 });
    // 5 s of CPU: 69 s at 128 MB, 34.5 s at 256, 17.3 s at 512: over 10 s.
    expect(slow.slice(0, 3).map((r) => r.status)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(slow[0].how).toMatch(/^predicted over --timeout 10 s/);
    expect(slow[3].status).toBe('modelled');
  });

  it('prices a map’s whole run: waves of --concurrency, a cold start per slot', () => {
    const run: TunedRun = { invocations: 10, concurrency: 4, timeoutS: 60, initMs: 100 };
    const [row] = rowsFor([[1024, 1000, 0, 50]], [[1024, 'ok']], run).filter((r) => r.memoryMb === 1024);
    // 3 waves of 1 s after an INIT of 100 ms; 10 x 1 GB-s + 4 x 0.1 GB-s + 10 requests.
    expect(row.runMs).toBeCloseTo(3100, 6);
    expect(row.costUsd).toBeCloseTo(10.4 * 0.0000166667 + 10 * 0.0000002, 10);
  });
});

describe('the pick', () => {
  const rows = rowsFor([[3008, 800, 300, 50]], [[3008, 'ok']]);

  it('is the cheapest for cost, the fastest for speed, and the balance of both', () => {
    // 500 ms of waiting costs more the more memory; 300 ms of CPU costs the same below one vCPU.
    expect(pickSize(rows, 'cost').row?.memoryMb).toBe(128);
    const speed = pickSize(rows, 'speed');
    expect(speed.row?.memoryMb).toBe(1769);
    expect(speed.reason).toBe('1769 MB is the fastest (the cheapest of the equally fast).');
    const balanced = pickSize(rows, 'balanced').row?.memoryMb;
    expect(balanced).toBeGreaterThan(128);
    expect(balanced).toBeLessThan(1769);
  });

  it('meets a deadline at the lowest cost, or says none can and picks the fastest', () => {
    // 2.57 s at 256 MB, 4.65 s at 128.
    const inTime = pickSize(rows, 'cost', 3000);
    expect(inTime.row?.memoryMb).toBe(256);
    expect(inTime.meetsDeadline).toBe(true);
    expect(inTime.reason).toBe('256 MB is the cheapest within the deadline of 3.00 s.');
    const never = pickSize(rows, 'cost', 100);
    expect(never).toMatchObject({ meetsDeadline: false, row: { memoryMb: 1769 } });
    expect(never.reason).toMatch(
      /^No size meets the deadline of 0\.10 s: the fastest, 1769 MB, takes ~0\.80 s\.$/,
    );
  });

  it('never picks a size that may not fit, and has none when nothing runs', () => {
    // 400 MB peak: within 80% of 512 MB, not of 256.
    const tight = rowsFor([[3008, 800, 10, 400]], [[3008, 'ok']]);
    expect(pickSize(tight, 'cost').row?.memoryMb).toBe(512);
    const none = pickSize(rowsFor([], [[3008, 'out-of-memory']]), 'cost');
    expect(none.row).toBeUndefined();
    expect(none.reason).toMatch(/^No size of the grid runs the body/);
  });

  it('treats costs within 1% as equal and takes the faster of them', () => {
    const a = { memoryMb: 128, status: 'modelled' as const, how: '', runMs: 4000, costUsd: 1.0 };
    const b = { memoryMb: 1769, status: 'modelled' as const, how: '', runMs: 300, costUsd: 1.009 };
    expect(bestCandidate([a, b], 'cost')).toBe(b);
    expect(bestCandidate([a, { ...b, costUsd: 1.02 }], 'cost')).toBe(a);
  });
});

describe('the next size to run', () => {
  it('is the middle of the unsure sizes that would beat the pick, and none once they are settled', () => {
    // 450 MB peak: 128 and 256 under it, 512 over 80% of it: all unsure, all cheaper than the sure 1024.
    const rows = rowsFor([[3008, 800, 10, 450]], [[3008, 'ok']]);
    expect(nextProbe(rows, 'cost')).toBe(256);
    const after = rowsFor(
      [[3008, 800, 10, 450]],
      [
        [3008, 'ok'],
        [256, 'out-of-memory'],
      ],
    );
    expect(nextProbe(after, 'cost')).toBe(512);
    const settled = rowsFor(
      [
        [3008, 800, 10, 450],
        [512, 800, 10, 420],
      ],
      [
        [3008, 'ok'],
        [256, 'out-of-memory'],
        [512, 'ok'],
      ],
    );
    expect(nextProbe(settled, 'cost')).toBeUndefined();
    expect(pickSize(settled, 'cost').row?.memoryMb).toBe(512);
    // For speed, small sizes never beat a full vCPU: nothing to run.
    expect(nextProbe(rows, 'speed')).toBeUndefined();
  });
});

describe('what the tuner shows', () => {
  const rows = rowsFor([[3008, 300, 200, 60]], [[3008, 'ok']]);
  const pick = pickSize(rows, 'cost');

  it('a table, the pick marked, every text escaped in HTML', () => {
    const text = tuneTableText(rows, pick);
    expect(text.split('\n')[0]).toMatch(/^memory\s+how\s+per invocation\s+run\s+cost per run\s+peak memory$/);
    expect(text).toMatch(/\n→ 128 MB\s+modelled from 3008 MB\s+\d+ ms/);
    const html = tuneTableHtml([{ ...rows[0], how: '<script>x</script>' }, ...rows.slice(1)], pick);
    expect(html).not.toContain('<script>');
    expect(html).toContain('class="jp-mod-picked"');
  });

  it('a Plotly figure: measured, modelled and picked sizes as separate traces', () => {
    const figure = tuneFigure(rows, pick, 'cost') as {
      data: { name: string; text: string[]; x: number[]; marker: { symbol: string } }[];
      layout: { yaxis: { range: number[] } };
    };
    expect(PLOTLY_MIME).toBe('application/vnd.plotly.v1+json');
    expect(figure.data.map((t) => t.name)).toEqual(['measured', 'modelled', 'pick (cost)']);
    expect(figure.data[2].text).toEqual(['128 MB']);
    expect(figure.data[2].marker.symbol).toBe('star');
    expect(figure.data.flatMap((t) => t.text)).toHaveLength(GRID.length);
    expect(figure.layout.yaxis.range[1]).toBeGreaterThan(Math.max(...rows.map((r) => r.costUsd ?? 0)));
  });
});

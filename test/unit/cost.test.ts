/**
 * The cost model: Lambda billing of attempts (rounding, INIT, requests,
 * architectures), the ledger's exact sums, estimates, budgets and reports.
 */
import {
  billAttempt,
  billStorage,
  BudgetExceededError,
  BudgetGuard,
  CostLedger,
  CostModelError,
  costReportHtml,
  costReportText,
  DEFAULT_PRICES,
  durationPico,
  DurationHistory,
  estimateHtml,
  estimateRun,
  estimateText,
  formatUsd,
  PriceTable,
} from '../../kernel-magics/src/cost';
import { AttemptOutcome, AttemptRecord } from '../../kernel-magics/src/runtime/backend';

const OK: AttemptOutcome = { status: 'ok', result: new Uint8Array() };

function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    attempt: 1,
    environmentId: 'env-1',
    cold: false,
    initMs: 0,
    durationMs: 100,
    bytesIn: 10,
    bytesOut: 10,
    startedAt: 0,
    outcome: OK,
    willRetry: false,
    ...overrides,
  };
}

describe('billAttempt', () => {
  it('rounds the duration up to the next ms', () => {
    expect(billAttempt(attempt({ durationMs: 1.2 }), 1024, DEFAULT_PRICES).billedMs).toBe(2);
    expect(billAttempt(attempt({ durationMs: 100 }), 1024, DEFAULT_PRICES).billedMs).toBe(100);
    expect(billAttempt(attempt({ durationMs: 0 }), 1024, DEFAULT_PRICES).billedMs).toBe(1);
  });

  it('bills 1024 MB x 100 ms = 0.1 GB-s at the x86 price, exactly', () => {
    const bill = billAttempt(attempt({ durationMs: 100 }), 1024, DEFAULT_PRICES, 'x86_64');
    expect(bill.computeUsd).toBe(0.00000166667);
    expect(bill.requestUsd).toBe(0.0000002);
    expect(bill.totalUsd).toBe(0.00000186667);
    expect(bill.pico).toEqual({ compute: 1_666_670, init: 0, request: 200_000, total: 1_866_670 });
  });

  it('bills memory in GB of 1024 MB, rounding to the nearest pico-dollar', () => {
    // 128 MB x 1 ms = 0.000125 GB-s x 16,666,700 pico-dollars = 2083.3375.
    expect(billAttempt(attempt({ durationMs: 1 }), 128, DEFAULT_PRICES).pico.compute).toBe(2083);
    expect(billAttempt(attempt({ durationMs: 1000 }), 10_240, DEFAULT_PRICES).computeUsd).toBe(0.000166667);
  });

  it('bills INIT (rounded up) on cold starts only', () => {
    const cold = billAttempt(attempt({ cold: true, initMs: 250.4 }), 1024, DEFAULT_PRICES);
    expect(cold.initBilledMs).toBe(251);
    // 0.251 GB-s x 16,666,700 = 4,183,341.7 pico-dollars.
    expect(cold.pico.init).toBe(4_183_342);
    expect(cold.totalUsd).toBe(0.000006050012);
    const warm = billAttempt(attempt({ cold: false, initMs: 250.4 }), 1024, DEFAULT_PRICES);
    expect(warm.initBilledMs).toBe(0);
    expect(warm.initUsd).toBe(0);
    const before2025: PriceTable = {
      ...DEFAULT_PRICES,
      lambda: { ...DEFAULT_PRICES.lambda, initBilled: false },
    };
    expect(billAttempt(attempt({ cold: true, initMs: 250 }), 1024, before2025).initUsd).toBe(0);
  });

  it("bills the platform's own billed duration when it reports one (Lambda's REPORT), INIT included once", () => {
    // REPORT: Duration 395.99 ms, Billed Duration 662 ms, Init Duration 265.72 ms.
    const reported = billAttempt(
      attempt({ cold: true, initMs: 300, durationMs: 395.99, reported: { billedMs: 662, initMs: 265.72 } }),
      512,
      DEFAULT_PRICES,
    );
    expect(reported.billedMs + reported.initBilledMs).toBe(662);
    expect(reported.initBilledMs).toBe(266);
    // 512 MB x 0.662 s x 16,666,700 pico-dollars per GB-s, plus the request.
    expect(reported.pico.compute + reported.pico.init).toBe(
      Math.round(0.5 * 0.396 * 16_666_700) + Math.round(0.5 * 0.266 * 16_666_700),
    );
    expect(reported.pico.request).toBe(200_000);
    // A warm attempt's REPORT has no INIT.
    const warm = billAttempt(attempt({ durationMs: 9.3, reported: { billedMs: 10 } }), 512, DEFAULT_PRICES);
    expect([warm.billedMs, warm.initBilledMs]).toEqual([10, 0]);
  });

  it('charges the request price for every attempt that ran, nothing for one cancelled in the queue', () => {
    const crashed = billAttempt(
      attempt({ durationMs: 3, outcome: { status: 'crashed', message: 'exit 1' } }),
      1024,
      DEFAULT_PRICES,
    );
    expect(crashed.ran).toBe(true);
    expect(crashed.requestUsd).toBe(0.0000002);
    const queued = billAttempt(
      attempt({ environmentId: '', durationMs: 0, outcome: { status: 'cancelled', message: 'interrupt' } }),
      1024,
      DEFAULT_PRICES,
    );
    expect(queued).toMatchObject({ ran: false, billedMs: 0, totalUsd: 0 });
    const killed = billAttempt(
      attempt({ durationMs: 40, outcome: { status: 'cancelled', message: 'interrupt' } }),
      1024,
      DEFAULT_PRICES,
    );
    expect(killed.ran).toBe(true);
    expect(killed.billedMs).toBe(40);
  });

  it('prices arm64 below x86_64', () => {
    const x86 = billAttempt(attempt({ durationMs: 1000 }), 1024, DEFAULT_PRICES, 'x86_64');
    const arm = billAttempt(attempt({ durationMs: 1000 }), 1024, DEFAULT_PRICES, 'arm64');
    expect(x86.computeUsd).toBe(0.0000166667);
    expect(arm.computeUsd).toBe(0.0000133334);
    expect(arm.requestUsd).toBe(x86.requestUsd);
  });

  it('refuses memory outside Lambda limits and negative durations', () => {
    expect(() => billAttempt(attempt(), 64, DEFAULT_PRICES)).toThrow(CostModelError);
    expect(() => billAttempt(attempt(), 10_241, DEFAULT_PRICES)).toThrow(/128 to 10240/);
    expect(() => billAttempt(attempt({ durationMs: -1 }), 1024, DEFAULT_PRICES)).toThrow(CostModelError);
  });

  it('bills S3 requests and storage', () => {
    expect(billStorage({ putRequests: 1000, getRequests: 1000 }, DEFAULT_PRICES).usd).toBe(0.0054);
    expect(billStorage({ gbMonths: 2 }, DEFAULT_PRICES).usd).toBe(0.046);
  });
});

describe('CostLedger', () => {
  it('sums 1,000,000 tiny attempts without drift', () => {
    const ledger = new CostLedger();
    ledger.startRun('r1', '[1] %%serverless --map xs');
    const bill = billAttempt(attempt({ durationMs: 1 }), 128, DEFAULT_PRICES); // 202,083 pico-dollars
    let naive = 0;
    for (let i = 0; i < 1_000_000; i += 1) {
      ledger.record('r1', bill);
      naive += bill.totalUsd;
    }
    expect(naive).not.toBe(0.202083); // what a float sum would show
    expect(ledger.total().totalUsd).toBe(0.202083);
    expect(ledger.total().requestUsd).toBe(0.2);
    expect(ledger.total().invocations).toBe(1_000_000);
    expect(ledger.runTotal('r1').billedMs).toBe(1_000_000);
  });

  it('stays exact past 2^53 pico-dollars ($9,007), where a double sum would stop counting', () => {
    const ledger = new CostLedger();
    const bill = billAttempt(attempt({ durationMs: 1 }), 128, DEFAULT_PRICES);
    const withCompute = (compute: number): typeof bill => ({ ...bill, pico: { ...bill.pico, compute } });
    ledger.record('r', withCompute(2 ** 53 - 1));
    for (let i = 0; i < 1000; i += 1) {
      ledger.record('r', withCompute(1));
    }
    // In doubles, 2^53 + 1 rounds back to 2^53: the 1,000 ones would vanish.
    expect(ledger.total().computeUsd).toBe(Number(2n ** 53n + 999n) / 1e12);
    expect(ledger.total().computeUsd).not.toBe(2 ** 53 / 1e12);
  });

  it('keeps totals per run, in order, with the compute/init/requests/storage split', () => {
    const ledger = new CostLedger();
    ledger.startRun('a', 'first');
    ledger.startRun('b', 'second');
    ledger.record('a', billAttempt(attempt({ durationMs: 100 }), 1024, DEFAULT_PRICES));
    ledger.record(
      'b',
      billAttempt(attempt({ cold: true, initMs: 100, durationMs: 100 }), 1024, DEFAULT_PRICES),
    );
    ledger.record(
      'b',
      billAttempt(
        attempt({ environmentId: '', outcome: { status: 'cancelled', message: '' } }),
        1024,
        DEFAULT_PRICES,
      ),
    );
    ledger.recordStorage('b', billStorage({ putRequests: 1 }, DEFAULT_PRICES));
    expect(ledger.runs().map((r) => [r.runId, r.label, r.invocations])).toEqual([
      ['a', 'first', 1],
      ['b', 'second', 1],
    ]);
    const b = ledger.runTotal('b');
    expect(b).toMatchObject({ computeUsd: 0.00000166667, initUsd: 0.00000166667, requestUsd: 0.0000002 });
    expect(b.storageUsd).toBe(0.000005);
    expect(b.totalUsd).toBe(0.00000853334);
    expect(ledger.total()).toEqual({
      computeUsd: 0.00000333334,
      initUsd: 0.00000166667,
      requestUsd: 0.0000004,
      storageUsd: 0.000005,
      totalUsd: 0.00001040001,
      invocations: 2,
    });
    expect(ledger.runTotal('unknown')).toMatchObject({ label: 'unknown', totalUsd: 0, invocations: 0 });
  });
});

describe('estimateRun', () => {
  const shape = { programHash: 'h', memoryMb: 1024, timeoutS: 60, invocations: 10, concurrency: 4 };

  it('assumes every invocation runs to its timeout without measurements', () => {
    const estimate = estimateRun(shape, new DurationHistory(), DEFAULT_PRICES);
    expect(estimate).toEqual({
      basis: 'worst-case',
      perInvocationMs: 60_000,
      wallMs: 180_000, // ceil(10 / 4) x 60 s
      costUsd: 0.01000202, // 10 x (60 GB-s x $0.0000166667 + $0.0000002)
      invocations: 10,
      samples: 0,
    });
  });

  it('uses the median of measured durations of the same program and memory', () => {
    const history = new DurationHistory();
    for (const ms of [10, 40, 20, 30]) {
      history.record('h', 1024, ms);
    }
    history.record('h', 2048, 1); // another memory: not used
    const estimate = estimateRun({ ...shape, invocations: 5, concurrency: 2 }, history, DEFAULT_PRICES);
    expect(estimate.basis).toBe('measured');
    expect(estimate.perInvocationMs).toBe(25);
    expect(estimate.wallMs).toBe(75);
    // 5 x (25 ms x 1 GB = 416,667.5 -> 416,668 pico + 200,000 pico).
    expect(estimate.costUsd).toBe(0.00000308334);
    const withCold = estimateRun(
      { ...shape, invocations: 5, concurrency: 2, coldStarts: { count: 2, initMs: 100 } },
      history,
      DEFAULT_PRICES,
    );
    expect(withCold.costUsd).toBe(0.00000641668); // + 2 x 100 ms x 1 GB
  });

  it('keeps a bounded history: last N per key, least recently used keys dropped', () => {
    const history = new DurationHistory({ perKey: 3, maxKeys: 2 });
    for (const ms of [1, 2, 3, 4, 5]) {
      history.record('a', 1024, ms);
    }
    expect(history.samples('a', 1024)).toEqual([3, 4, 5]);
    for (const ms of [6, 7, 8, 9, 10, 11, 12]) {
      history.record('a', 1024, ms);
    }
    expect(history.samples('a', 1024)).toEqual([10, 11, 12]);
    expect(history.median('a', 1024)).toBe(11);
    for (const ms of [3, 4, 5]) {
      history.record('a', 1024, ms);
    }
    history.record('b', 1024, 7);
    history.median('a', 1024); // a is now the most recently used
    history.record('c', 1024, 9);
    expect(history.size).toBe(2);
    expect(history.samples('b', 1024)).toEqual([]);
    expect(history.samples('a', 1024)).toEqual([3, 4, 5]);
    expect(history.median('c', 1024)).toBe(9);
  });
});

describe('BudgetGuard', () => {
  it('refuses an estimate over the budget with what to do', () => {
    const guard = new BudgetGuard(0.01);
    expect(() => guard.check({ costUsd: 0.01 })).not.toThrow();
    let error: unknown;
    try {
      guard.check({ costUsd: 0.0100001, basis: 'worst-case' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BudgetExceededError);
    const budgetError = error as BudgetExceededError;
    expect(budgetError).toMatchObject({ estimateUsd: 0.0100001, budgetUsd: 0.01 });
    expect(budgetError.message).toContain('$0.01');
    expect(budgetError.message).toMatch(/--budget.*--memory.*--timeout.*--dry-run/);
    expect(budgetError.message).toContain('worst case');
  });

  it('is reached when the spend meets the limit', () => {
    const guard = new BudgetGuard(0.000001);
    for (let i = 0; i < 4; i += 1) {
      guard.add(0.0000002);
    }
    expect(guard.reached).toBe(false);
    expect(guard.remainingUsd).toBe(0.0000002);
    guard.add(0.0000002);
    expect(guard.reached).toBe(true);
    expect(guard.spentUsd).toBe(0.000001);
    expect(() => new BudgetGuard(-1)).toThrow(CostModelError);
  });
});

describe('reports', () => {
  const evil = '<img src=x onerror="alert(1)"> & co';

  function ledgerWith(label: string): CostLedger {
    const ledger = new CostLedger();
    ledger.startRun('r', label);
    ledger.record(
      'r',
      billAttempt(attempt({ cold: true, initMs: 100, durationMs: 12.5 }), 1024, DEFAULT_PRICES),
    );
    return ledger;
  }

  it('escapes labels in HTML', () => {
    const html = costReportHtml(ledgerWith(evil), DEFAULT_PRICES, 'x86_64');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('"alert');
    expect(html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62; &#38; co');
  });

  it('renders a table of runs with the kernel total and the price basis', () => {
    const ledger = ledgerWith('[3] %%serverless --memory 1024');
    const text = costReportText(ledger, DEFAULT_PRICES, 'arm64');
    const [header, row] = text.split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'run',
      'invocations',
      'billed ms',
      'ran ms',
      'compute',
      'init',
      'requests',
      'total',
    ]);
    // Billed: 12.5 ms rounded up, with 100 ms of INIT; ran: 12.5 ms here.
    expect(row).toMatch(/^\[3\] %%serverless --memory 1024\s+1\s+113\s+13\s/);
    const total = ledger.total().totalUsd;
    expect(text).toContain(`Kernel total: ${formatUsd(total)}`);
    expect(text).toContain(total.toPrecision(3).replace(/0+$/, '').replace(/\.$/, ''));
    expect(text).toMatch(/us-east-1, arm64: \$0\.0000133334 per GB-s.*2026-11-01/);
    expect(costReportText(new CostLedger(), DEFAULT_PRICES, 'x86_64')).toMatch(/^No serverless runs yet/);
  });

  it('formats USD without exponents', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.00000000208)).toBe('$0.00000000208');
    expect(formatUsd(0.0000186667)).toBe('$0.0000187');
    expect(formatUsd(0.001)).toBe('$0.001');
    expect(formatUsd(12.345)).toBe('$12.35');
  });

  it('renders a dry-run estimate line', () => {
    const estimate = estimateRun(
      { programHash: 'h', memoryMb: 512, timeoutS: 30, invocations: 3, concurrency: 2 },
      new DurationHistory(),
      DEFAULT_PRICES,
    );
    const settings = { memoryMb: 512, timeoutS: 30, concurrency: 2 };
    expect(estimateText(estimate, settings)).toBe(
      'Estimate: 3 invocations x 512 MB, ~60.00 s at concurrency 2, $0.000751 ' +
        '(worst case: every invocation runs its full --timeout of 30 s)',
    );
    expect(estimateHtml(estimate, settings)).toMatch(
      /^<p class="jp-serverless-Cost-estimate mathjax_ignore tex2jax_ignore">Estimate: 3/,
    );
  });
});

describe('durationPico arithmetic', () => {
  it('is exact (half up) on the fast double path and the bigint path alike', () => {
    const perGbSecond = BigInt(Math.round(DEFAULT_PRICES.lambda.gbSecondUsd.x86_64 * 1e12));
    const exact = (ms: number, mb: number): number => {
      const n = BigInt(ms) * BigInt(mb) * perGbSecond;
      return Number((n + 512_000n) / 1_024_000n);
    };
    // Small products take the double path; 900 s x 10,240 MB is past 2^53 and takes bigint.
    for (const [ms, mb] of [
      [1, 128],
      [3, 1024],
      [1234, 1769],
      [59_999, 3008],
      [900_000, 10_240],
      [777_777, 9_999],
    ]) {
      expect(durationPico(ms, mb, DEFAULT_PRICES, 'x86_64')).toBe(exact(ms, mb));
    }
  });
});

/**
 * The meter: bills each attempt the way AWS Lambda bills it, and the ledger
 * of what the kernel's runs cost.
 *
 * Money is computed and summed in integer pico-dollars (1e-12 USD): a Lambda
 * price per GB-second ($0.0000166667) is a whole number of pico-dollars, so
 * a bill is exact up to one rounding per attempt (below half a pico-dollar),
 * and sums of millions of attempts do not drift the way float sums do. USD
 * values are exposed as numbers derived from the integers.
 */
import { AttemptRecord, ProviderReport } from '../runtime/backend';
import type { AttemptCost } from '../telemetry/protocol/events';
import { picoToUsd, usdToPico } from '../telemetry/protocol/money';
import { Arch, PriceTable } from './prices';

// The conversions live with the telemetry protocol, which the panel shares.
export { PICO_PER_USD, picoToUsd, usdToPico } from '../telemetry/protocol/money';

/** An invalid input to the cost model (a negative duration, memory out of Lambda's range...). */
export class CostModelError extends RangeError {
  override readonly name = 'CostModelError';
}

/** What one attempt costs: its parts in USD (as telemetry sends them) and more. */
export interface AttemptBill extends AttemptCost {
  /** Whether the attempt ran at all (and so was billed as a request). */
  ran: boolean;
  /** Billed duration of the invoke phase, ms (rounded up to the billing granularity). */
  billedMs: number;
  /** Billed INIT duration of a cold start, ms (0 for warm starts). */
  initBilledMs: number;
  /**
   * ms it ran as measured where it ran (this machine's clock for the
   * embedded runtime), unrounded; 0 when it did not run or only the
   * platform's report is known.
   */
  measuredMs: number;
  memoryMb: number;
  arch: Arch;
  /** The same amounts in integer pico-dollars: what the ledger sums. */
  pico: { compute: number; init: number; request: number; total: number };
}

/** The parts of an attempt's bill, as the `invocation-finished` event carries them. */
export function attemptCost(bill: AttemptBill): AttemptCost {
  return {
    computeUsd: bill.computeUsd,
    initUsd: bill.initUsd,
    requestUsd: bill.requestUsd,
    totalUsd: bill.totalUsd,
  };
}

/**
 * Whether an attempt ran. An invocation cancelled while it waited in the
 * queue never got an environment: a backend reports it with no attempt at
 * all, or with an attempt whose outcome is `cancelled` and whose
 * `environmentId` is empty. Such an attempt costs nothing. Every other
 * attempt is a request; a cancelled cold start that got an environment pays
 * for its INIT.
 */
export function attemptRan(record: AttemptRecord): boolean {
  return (
    !(record.outcome.status === 'cancelled' && record.environmentId === '') &&
    record.reported?.notRun !== true
  );
}

/** `ms` rounded up to the billing granularity (at least one unit when it ran). */
export function billedDurationMs(ms: number, prices: PriceTable): number {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new CostModelError(`A duration must be a finite number of ms >= 0, got ${ms}`);
  }
  const unit = prices.lambda.billingGranularityMs;
  return Math.max(unit, Math.ceil(ms / unit) * unit);
}

/** `a / b` rounded half up, exactly, for safe non-negative integers (remainders of integers are exact). */
function divRoundSafe(a: number, b: number): number {
  const remainder = a % b;
  return (a - remainder) / b + (remainder * 2 >= b ? 1 : 0);
}

/** Pico-dollars for `ms` billed at `memoryMb` (GB = MB / 1024). */
export function durationPico(ms: number, memoryMb: number, prices: PriceTable, arch: Arch): number {
  const perGbSecond = usdToPico(prices.lambda.gbSecondUsd[arch]);
  // MB x ms x (pico per GB-s) / (1024 MB per GB x 1000 ms per s), rounded half up:
  // in doubles while the product is an exact integer (the usual case, and much
  // faster), else in bigint.
  const product = ms * memoryMb * perGbSecond;
  if (Number.isSafeInteger(product)) {
    return divRoundSafe(product, 1_024_000);
  }
  return Number(divRound(BigInt(ms) * BigInt(memoryMb) * BigInt(perGbSecond), 1_024_000n));
}

/** Pico-dollars for one request. */
export function requestPico(prices: PriceTable): number {
  return divRoundSafe(usdToPico(prices.lambda.requestUsdPerMillion), 1_000_000);
}

/** A run of alike invocations, as an estimate sees it. */
export interface AlikeRun {
  /** Invocations, each billed `perInvocationMs` (rounded up) and one request. */
  invocations: number;
  perInvocationMs: number;
  memoryMb: number;
  /** Cold starts among them, each billed an INIT of `initMs` (where INIT is billed); none when absent. */
  coldStarts?: { count: number; initMs: number };
}

/**
 * Pico-dollars a run of alike invocations costs: what estimates and the
 * tuner predict (summed in bigint: exact at any count).
 */
export function alikeRunPico(run: AlikeRun, prices: PriceTable, arch: Arch): bigint {
  const perInvocation =
    durationPico(billedDurationMs(run.perInvocationMs, prices), run.memoryMb, prices, arch) +
    requestPico(prices);
  let pico = BigInt(perInvocation) * BigInt(run.invocations);
  const cold = run.coldStarts;
  if (cold && cold.count > 0 && cold.initMs > 0 && prices.lambda.initBilled) {
    const init = durationPico(billedDurationMs(cold.initMs, prices), run.memoryMb, prices, arch);
    pico += BigInt(init) * BigInt(Math.min(cold.count, run.invocations));
  }
  return pico;
}

/** The ms an attempt is billed on, before rounding: its Lambda-equivalent duration when it has one (AttemptRecord.lambdaMs). */
export function attemptDurationMs(record: AttemptRecord): number {
  return record.lambdaMs ?? record.durationMs;
}

/**
 * Bills one attempt as Lambda does: the duration (its Lambda-equivalent
 * duration when the backend measured one, see AttemptRecord.lambdaMs) rounded up to 1 ms x memory
 * in GB x the price per GB-second of `arch`; on cold starts the INIT phase
 * (`initMs`, rounded up) billed the same way; plus one request. An attempt
 * that never ran (see {@link attemptRan}) costs nothing.
 *
 * @throws CostModelError when `memoryMb` is not a whole number of MB within Lambda's limits, or a
 *   duration is negative or not finite.
 */
export function billAttempt(
  record: AttemptRecord,
  memoryMb: number,
  prices: PriceTable,
  arch: Arch = 'x86_64',
): AttemptBill {
  checkMemory(memoryMb, prices);
  const ran = attemptRan(record);
  const { billedMs, initBilledMs } =
    record.reported?.billedMs !== undefined
      ? reportedDurations(record.reported, prices)
      : {
          billedMs: ran ? billedDurationMs(attemptDurationMs(record), prices) : 0,
          initBilledMs:
            ran && record.cold && prices.lambda.initBilled && record.initMs > 0
              ? billedDurationMs(record.initMs, prices)
              : 0,
        };
  return {
    ...billDurations(ran, billedMs, initBilledMs, memoryMb, prices, arch),
    measuredMs: ran ? record.durationMs : 0,
  };
}

/**
 * Bills one attempt from what the platform reported of it alone (Lambda's
 * REPORT line, see runtime/lambda/report.ts): the same bill, to the
 * pico-dollar, as {@link billAttempt} makes of an attempt that carries this
 * report.
 *
 * @throws CostModelError when `memoryMb` is not a whole number of MB within Lambda's limits.
 */
export function billReported(
  reported: ProviderReport & { billedMs: number },
  memoryMb: number,
  prices: PriceTable,
  arch: Arch = 'x86_64',
): AttemptBill {
  checkMemory(memoryMb, prices);
  const { billedMs, initBilledMs } = reportedDurations(reported, prices);
  return { ...billDurations(true, billedMs, initBilledMs, memoryMb, prices, arch), measuredMs: 0 };
}

/** The bill of billed durations (ms, already rounded): duration x memory x price, plus one request if it ran. */
function billDurations(
  ran: boolean,
  billedMs: number,
  initBilledMs: number,
  memoryMb: number,
  prices: PriceTable,
  arch: Arch,
): Omit<AttemptBill, 'measuredMs'> {
  const compute = durationPico(billedMs, memoryMb, prices, arch);
  const init = durationPico(initBilledMs, memoryMb, prices, arch);
  const request = ran ? requestPico(prices) : 0;
  const total = compute + init + request;
  return {
    ran,
    billedMs,
    initBilledMs,
    memoryMb,
    arch,
    computeUsd: picoToUsd(compute),
    initUsd: picoToUsd(init),
    requestUsd: picoToUsd(request),
    totalUsd: picoToUsd(total),
    pico: { compute, init, request, total },
  };
}

/**
 * The billed durations of an attempt whose platform reported its own billed
 * duration (Lambda's REPORT line: one figure, INIT included, rounded once).
 * That total is kept exactly; INIT's part is its own duration rounded up,
 * the rest is compute.
 */
function reportedDurations(
  reported: ProviderReport,
  prices: PriceTable,
): { billedMs: number; initBilledMs: number } {
  const total = reported.billedMs ?? 0;
  const init =
    prices.lambda.initBilled && reported.initMs !== undefined && reported.initMs > 0
      ? Math.min(total, Math.ceil(reported.initMs))
      : 0;
  return { billedMs: total - init, initBilledMs: init };
}

/** Throws unless `memoryMb` is a memory size Lambda accepts. */
export function checkMemory(memoryMb: number, prices: PriceTable): void {
  const { min, max } = prices.lambda.memoryMb;
  if (!Number.isInteger(memoryMb) || memoryMb < min || memoryMb > max) {
    throw new CostModelError(`Memory must be a whole number of MB from ${min} to ${max}, got ${memoryMb}`);
  }
}

/** Requests to (and data kept in) an object store, billed at S3 Standard prices. */
export interface StorageUsage {
  /** PUT, COPY, POST and LIST requests. */
  putRequests?: number;
  /** GET requests. */
  getRequests?: number;
  /** GB-months stored. */
  gbMonths?: number;
}

/** What storage use costs. */
export interface StorageBill {
  usd: number;
  pico: number;
}

/** Bills object store use at S3 Standard prices. */
export function billStorage(usage: StorageUsage, prices: PriceTable): StorageBill {
  const { putRequests = 0, getRequests = 0, gbMonths = 0 } = usage;
  for (const [name, value] of Object.entries({ putRequests, getRequests, gbMonths })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new CostModelError(`${name} must be a finite number >= 0, got ${value}`);
    }
  }
  const requests =
    divRound(BigInt(Math.round(putRequests)) * BigInt(usdToPico(prices.s3.putListUsdPer1000)), 1000n) +
    divRound(BigInt(Math.round(getRequests)) * BigInt(usdToPico(prices.s3.getUsdPer1000)), 1000n);
  const pico = Number(requests) + Math.round(gbMonths * usdToPico(prices.s3.storageUsdPerGbMonth));
  return { usd: picoToUsd(pico), pico };
}

/** `a / b` rounded half up, for `a >= 0`, `b > 0`. */
function divRound(a: bigint, b: bigint): bigint {
  return (a + b / 2n) / b;
}

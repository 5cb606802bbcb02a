/**
 * The one price table of the cost model: what AWS Lambda (and S3, for the
 * stores of later exchanges) charges, as published on the pricing pages.
 * Every cost the kernel shows, for the local runtime as well, is computed from
 * it, so a local run shows what it would cost on Lambda.
 *
 * Not modelled: the free tier (1M requests and 400,000 GB-s a month), the
 * volume discounts on duration above 6 billion GB-s a month, data transfer,
 * ephemeral storage over 512 MB, provisioned concurrency and SnapStart.
 */

/** A Lambda instruction set architecture: the price per GB-second depends on it. */
export type Arch = 'x86_64' | 'arm64';

/** Prices of one region, in USD. */
export interface PriceTable {
  /** AWS region the prices apply to. */
  readonly region: string;
  /** ISO date on which the prices were read from the pricing pages. */
  readonly readOn: string;
  /** Where the prices come from. */
  readonly source: string;
  readonly lambda: {
    /** USD per GB-second of billed duration, per architecture. */
    readonly gbSecondUsd: Readonly<Record<Arch, number>>;
    /** USD per one million requests (every attempt that ran is a request). */
    readonly requestUsdPerMillion: number;
    /** Billed durations are rounded up to a multiple of this, ms. */
    readonly billingGranularityMs: number;
    /** Whether the INIT phase of cold starts is billed (it is since 1 August 2025). */
    readonly initBilled: boolean;
    /** Configurable memory, MB. */
    readonly memoryMb: { readonly min: number; readonly max: number };
  };
  readonly s3: {
    /** USD per 1,000 PUT, COPY, POST or LIST requests (S3 Standard). */
    readonly putListUsdPer1000: number;
    /** USD per 1,000 GET (and other read) requests (S3 Standard). */
    readonly getUsdPer1000: number;
    /** USD per GB-month stored (S3 Standard, first 50 TB). */
    readonly storageUsdPerGbMonth: number;
  };
}

/** Prices of AWS Lambda and S3 Standard in us-east-1 (N. Virginia). */
export const DEFAULT_PRICES: PriceTable = deepFreeze({
  region: 'us-east-1',
  readOn: '2026-11-01',
  source:
    'AWS Lambda pricing, https://aws.amazon.com/lambda/pricing/ (INIT billing: AWS Compute Blog, ' +
    '"AWS Lambda standardizes billing for INIT Phase"); S3 pricing, https://aws.amazon.com/s3/pricing/',
  lambda: {
    gbSecondUsd: { x86_64: 0.0000166667, arm64: 0.0000133334 },
    requestUsdPerMillion: 0.2,
    billingGranularityMs: 1,
    initBilled: true,
    memoryMb: { min: 128, max: 10_240 },
  },
  s3: {
    putListUsdPer1000: 0.005,
    getUsdPer1000: 0.0004,
    storageUsdPerGbMonth: 0.023,
  },
});

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') {
      deepFreeze(child as object);
    }
  }
  return Object.freeze(value);
}

/**
 * Money as the kernel's meter and ledger count it, and as both ends show it.
 *
 * Every amount the kernel bills is a whole number of pico-dollars (1e-12
 * USD), sent as USD. An amount below 2^50 pico-dollars (about $1,125)
 * survives USD and back exactly ({@link usdToPico} of {@link picoToUsd} is
 * the same integer: two roundings of relative error 2^-53 each stay below
 * half a pico-dollar), so a sum done in pico-dollars ({@link addUsd}) is the
 * ledger's sum, not a float sum that drifts.
 */

/** Pico-dollars per dollar. */
export const PICO_PER_USD = 1e12;

/** USD to whole pico-dollars (rounded to the nearest). */
export function usdToPico(usd: number): number {
  return Math.round(usd * PICO_PER_USD);
}

/** Pico-dollars to USD. */
export function picoToUsd(pico: number | bigint): number {
  return Number(pico) / PICO_PER_USD;
}

/** `a + b` for amounts in whole pico-dollars, summed as the ledger sums them. */
export function addUsd(a: number, b: number): number {
  return picoToUsd(usdToPico(a) + usdToPico(b));
}

/**
 * USD for display, never in exponent notation: three significant digits
 * below one dollar (costs of single invocations are millionths of a dollar),
 * cents from one dollar up. The panel and `%serverless cost` both use it, so
 * they show the same amounts.
 */
export function formatUsd(usd: number): string {
  if (usd === 0 || !Number.isFinite(usd)) {
    return usd === 0 ? '$0' : `$${usd}`;
  }
  const sign = usd < 0 ? '-' : '';
  const size = Math.abs(usd);
  if (size >= 1) {
    return `${sign}$${size.toFixed(2)}`;
  }
  const decimals = Math.min(100, Math.max(0, 2 - Math.floor(Math.log10(size))));
  const digits = size
    .toFixed(decimals)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
  return `${sign}$${digits}`;
}

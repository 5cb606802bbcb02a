/**
 * The process's peak resident memory, as an invocation reports it. Reading it
 * (getrusage) costs more than a trivial invocation: a burst of short
 * invocations reuses a reading up to PEAK_RSS_REUSE_MS old; one that ran that
 * long reads it afresh.
 */

/** How old a reading of the peak resident memory an invocation may report, ms. */
const PEAK_RSS_REUSE_MS = 10;

let last = { mb: 0, at: Number.NEGATIVE_INFINITY };

/** Peak resident memory of this process so far, MB, for an invocation that ran `durationMs`. */
export function peakRssMb(durationMs: number): number {
  const now = performance.now();
  if (durationMs >= PEAK_RSS_REUSE_MS || now - last.at >= PEAK_RSS_REUSE_MS) {
    last = { mb: process.resourceUsage().maxRSS / 1024, at: now };
  }
  return last.mb;
}

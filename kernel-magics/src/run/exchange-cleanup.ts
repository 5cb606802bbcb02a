/**
 * A run's exchange keys are removed from its store when the run ends, as
 * the store contract says (`exchange/<runId>/`: contributions, means,
 * residuals): nothing of a finished run is left to be read by mistake or
 * paid for. Bounded: a store that does not answer gets a note in the cell,
 * never a cell that does not end.
 */
import { sharedStore } from '../exchange/store/shared';
import { describeStore } from '../exchange/store/url';

/** How long removing a run's keys may take before the cell ends anyway. */
export const EXCHANGE_CLEANUP_TIMEOUT_MS = 10_000;

/**
 * Removes `exchange/<runId>/` from the store at `storeUrl`. Resolves with
 * undefined when done, or with a note for the cell saying what was left.
 */
export async function removeRunKeys(storeUrl: string, runId: string): Promise<string | undefined> {
  const prefix = `exchange/${runId}/`;
  try {
    await sharedStore(storeUrl).deletePrefix(prefix, {
      signal: AbortSignal.timeout(EXCHANGE_CLEANUP_TIMEOUT_MS),
    });
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return (
      `%%serverless: the run's exchange keys could not be removed from ${describeStore(storeUrl)} ` +
      `(${reason}); they stay under ${prefix} until removed by hand.\n`
    );
  }
}

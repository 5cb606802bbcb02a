/**
 * Signatures of messages already received, so a validly signed message
 * sent again (a replay) is refused, as jupyter_client's Session refuses a
 * repeated digest ("Duplicate Signature"). The HMAC covers the header and
 * its unique msg_id, so a legitimate client never repeats a signature.
 *
 * Bounded like jupyter_client's `digest_history_size`; where it culls a
 * random tenth when full, this forgets the oldest signature, so a replay of
 * anything recent is always refused.
 */

/** How many signatures are remembered (jupyter_client's default, 2^16). */
export const SIGNATURE_HISTORY_SIZE = 1 << 16;

/** A bounded, oldest-first-forgotten set of seen signatures. */
export class SignatureHistory {
  /** A Set iterates in insertion order: its first entry is the oldest. */
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = SIGNATURE_HISTORY_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a whole number >= 1, got ${capacity}`);
    }
  }

  /**
   * Records `signature`; false if it was seen before (the message is a
   * replay). The empty signature of an unsigned connection is never
   * recorded: without a key there is nothing to authenticate.
   */
  admit(signature: string): boolean {
    if (signature === '') {
      return true;
    }
    if (this.seen.has(signature)) {
      return false;
    }
    if (this.seen.size >= this.capacity) {
      const oldest = this.seen.values().next();
      if (!oldest.done) {
        this.seen.delete(oldest.value);
      }
    }
    this.seen.add(signature);
    return true;
  }

  /** How many signatures are remembered. */
  get size(): number {
    return this.seen.size;
  }
}

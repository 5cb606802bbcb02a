/**
 * Typed errors of the datasets: each says what was wrong and what to do.
 * Store failures themselves stay the store's typed errors (`StoreError`
 * and its kinds), passed through unchanged.
 */

/** Base of every dataset error; also a call with arguments that cannot be used (the message says the limits). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/**
 * A chunk of a published dataset is missing from the store or is not what
 * was published (wrong size, wrong samples, checksum mismatch). Publishing
 * the dataset again (`publishDataset`) rewrites what is missing.
 */
export class DatasetChunkError extends DatasetError {
  override name = 'DatasetChunkError';
  /** The dataset's content hash. */
  readonly hash: string;
  /** The chunk's key. */
  readonly key: string;
  /** Where the store is. */
  readonly location: string;

  constructor(info: { hash: string; key: string; location: string; problem: string }) {
    super(
      `dataset ${info.hash.slice(0, 12)}: chunk ${info.key} in ${info.location} ${info.problem}; ` +
        'publish the dataset again (publishDataset writes what is missing)',
    );
    this.hash = info.hash;
    this.key = info.key;
    this.location = info.location;
  }
}

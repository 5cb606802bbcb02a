/**
 * The cost model: Lambda's prices, the meter that bills attempts, the
 * kernel's ledger, estimates before a run, budgets and their renderings.
 */
export * from './prices';
export * from './meter';
export * from './ledger';
export * from './estimator';
export * from './budget';
export * from './format';
export * from './cpu-share';
export * from './profiles';

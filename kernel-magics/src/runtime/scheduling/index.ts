/**
 * Scheduling shared by every backend: the queue in front of the
 * concurrency limit, abort groups, and the one bounded retry policy.
 */
export { AbortGroups, Abortable } from './abort-groups';
export { Queueable, WorkQueue } from './queue';
export { Backoff, backoffDelay, MAX_RETRIES, RETRIED_STATUSES, retryDelay } from './retry';
export { Slots } from './slots';

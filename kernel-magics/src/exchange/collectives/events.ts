/**
 * The events an exchange sends (through `emitEvent`, to the kernel, which
 * stamps and prices them).
 */
import type { ExchangeRoundEvent } from '../../telemetry/protocol/events';
import type { StoreRequests } from '../store/object-store';

/**
 * `exchange-round`: one worker's part of one round. The fields of
 * {@link ExchangeRoundEvent} that the worker knows: the kernel adds `seq`,
 * `time` and `runId`, and prices `requests` (given here by kind) into
 * `requests` (their count) and `storageUsd`.
 */
export type ExchangeRoundData = Omit<
  ExchangeRoundEvent,
  'type' | 'seq' | 'time' | 'runId' | 'storageUsd' | 'requests'
> & {
  requests: StoreRequests;
};

/** `exchange-straggler`: a worker has waited `stragglerS` in a round for the ranks listed. */
export interface ExchangeStragglerData {
  exchange: string;
  round: number;
  /** The ranks it is still waiting for. */
  ranks: number[];
  /** The worker that waited. */
  rank: number;
}

/** `exchange-open`: a worker opened the exchange as `rank` (the kernel maps ranks to invocations). */
export interface ExchangeOpenData {
  exchange: string;
  rank: number;
  workers: number;
}

/** The event types. */
export const EXCHANGE_OPEN_EVENT = 'exchange-open';
export const EXCHANGE_ROUND_EVENT = 'exchange-round';
export const EXCHANGE_STRAGGLER_EVENT = 'exchange-straggler';

/**
 * `input()` for cells: asks the notebook user for a line of text through the
 * kernel's stdin channel (`input_request`).
 */
import { StdinBroker } from './kernel/stdin';

const BROKER_KEY = Symbol.for('serverless-kernel.stdin-broker');

type BrokerHolder = { [BROKER_KEY]?: StdinBroker };

/** @internal The kernel installs its stdin broker here. */
export function setInputBroker(broker: StdinBroker | undefined): void {
  (globalThis as BrokerHolder)[BROKER_KEY] = broker;
}

/** Options of {@link input}. */
export interface InputOptions {
  /** Hide what the user types. */
  password?: boolean;
}

/**
 * Prompts the user and resolves with the line they entered. Rejects when the
 * frontend does not accept input, or the cell is interrupted.
 */
export function input(prompt = '', options: InputOptions = {}): Promise<string> {
  const broker = (globalThis as BrokerHolder)[BROKER_KEY];
  if (!broker) {
    return Promise.reject(new Error('input() needs a running serverless-kernel'));
  }
  return broker.request(prompt, options.password ?? false);
}

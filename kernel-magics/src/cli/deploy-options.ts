/**
 * The options `serverless-kernel deploy` and `%serverless deploy` share,
 * apart from the deploy itself (which loads the AWS SDK: only when run).
 */
import { InvalidArgumentError } from 'commander';

import { LIMITS } from '../magics/options';
import { LAMBDA_LIMITS } from '../runtime/lambda/config';

/** The memory size a deploy publishes when none is given: the cells' default. */
export const DEFAULT_DEPLOY_MEMORY_MB = LIMITS.memoryMb.default;

/** Parses `--memory 1024,2048`. @throws InvalidArgumentError for anything but a list of MB in Lambda's range. */
export function parseMemoryList(value: string): number[] {
  const { min, max } = LAMBDA_LIMITS.memoryMb;
  const sizes = value.split(',').map((part) => part.trim());
  const bad = sizes.filter((part) => !/^\d+$/.test(part) || Number(part) < min || Number(part) > max);
  if (bad.length > 0) {
    const given = bad.map((part) => (part === '' ? 'an empty item' : part)).join(', ');
    throw new InvalidArgumentError(
      `memory sizes are whole numbers of MB from ${min} to ${max}, comma-separated (e.g. 1024,2048), not ${given}.`,
    );
  }
  return [...new Set(sizes.map(Number))];
}

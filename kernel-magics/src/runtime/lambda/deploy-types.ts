/**
 * The shapes of a deploy of the runner: its steps, its plan and what it is
 * asked to do (planned in deploy-plan.ts, carried out in deploy-apply.ts).
 */
import type { Arch } from '../../cost/prices';
import type { CallContext } from './deploy-calls';
import type { RunnerPackage } from './package';

/** One change a deploy makes, in order. */
export type DeployStep =
  /** Create the runner's role, or complete an existing one (`existingArn`). */
  | { kind: 'provide-role'; roleName: string; existingArn?: string }
  /** Create the function with the package and `memoryMb`; `roleArn` absent: the role the step before provides. */
  | { kind: 'create-function'; memoryMb: number; roleArn?: string }
  /** Upload the package to $LATEST (and set its architecture). */
  | { kind: 'update-code'; fromSha256: string; fromArch: Arch }
  /** Set $LATEST's configuration for `memoryMb`; `changes` in words. */
  | { kind: 'update-configuration'; memoryMb: number; roleArn?: string; changes: string[] }
  /** Publish $LATEST as the version for `memoryMb`. */
  | { kind: 'publish-version'; memoryMb: number }
  /** Point alias `alias` at the version published for `memoryMb` (`fromVersion`: it exists). */
  | { kind: 'set-alias'; alias: string; memoryMb: number; fromVersion?: string };

/** One memory size's alias as the plan found it. */
export interface PlannedAlias {
  alias: string;
  memoryMb: number;
  /** The version it points to now, if it exists. */
  version?: string;
  /** It points to a version with this package and configuration. */
  upToDate: boolean;
}

/** What a deploy would do. */
export interface DeployPlan {
  functionName: string;
  region: string;
  bucket: string;
  arch: Arch;
  /** The package to deploy (its zip is uploaded when the code changes). */
  package: RunnerPackage;
  /** Where calls go, for messages. */
  targets: CallContext['targets'];
  /** The changes, in order (empty: nothing to do). */
  steps: DeployStep[];
  /** The steps in words a user reads. */
  changes: string[];
  /** Each memory size's alias. */
  aliases: PlannedAlias[];
  /** The IAM actions this deploy needs, reads included (what `--dry-run` prints). */
  iamActions: string[];
  /** $LATEST was being created or updated when read: wait for it before changing it. */
  latestBusy?: 'pending' | 'updating';
}

/** What a deploy is asked to do. */
export interface DeployOptions {
  /** One published version and alias per memory size, MB. */
  memorySizes: number[];
  /** The function's execution role; absent, `<function>-runner-role` is created or reused. */
  roleArn?: string;
  package: RunnerPackage;
}

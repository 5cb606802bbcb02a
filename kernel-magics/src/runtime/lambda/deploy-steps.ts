/**
 * A deploy's steps in words a user reads, and the IAM actions they need
 * (what `--dry-run` prints, so an administrator can grant exactly those).
 */
import { RUNNER_DEFAULTS } from './config';
import type { DeployPlan, DeployStep } from './deploy-types';

/** Every IAM action a deploy may need, reads included. */
export const DEPLOY_IAM_ACTIONS: readonly string[] = [
  'iam:AttachRolePolicy',
  'iam:CreateRole',
  'iam:GetRole',
  'iam:PassRole',
  'iam:PutRolePolicy',
  'lambda:CreateAlias',
  'lambda:CreateFunction',
  'lambda:GetAlias',
  'lambda:GetFunction',
  'lambda:GetFunctionConfiguration',
  'lambda:PublishVersion',
  'lambda:UpdateAlias',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
];

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The start of a CodeSha256, enough to tell two packages apart. */
function shortSha(sha256: string): string {
  return sha256 === '' ? 'none' : `${sha256.slice(0, 12)}…`;
}

/** One step in words. */
export function describeStep(step: DeployStep, plan: DeployPlan): string {
  switch (step.kind) {
    case 'provide-role':
      return step.existingArn === undefined
        ? `create IAM role ${step.roleName} (assumed by Lambda; AWSLambdaBasicExecutionRole; ` +
            `s3:GetObject/PutObject/DeleteObject/ListBucket on bucket ${plan.bucket} only)`
        : `reuse IAM role ${step.roleName} (attach AWSLambdaBasicExecutionRole and S3 access to bucket ` +
            `${plan.bucket} again)`;
    case 'create-function':
      return (
        `create function ${plan.functionName} (${RUNNER_DEFAULTS.runtime}, ${plan.arch}, ${step.memoryMb} MB, ` +
        `timeout ${RUNNER_DEFAULTS.timeoutS} s, /tmp ${RUNNER_DEFAULTS.ephemeralStorageMb} MB; ` +
        `code ${megabytes(plan.package.zip.length)}, CodeSha256 ${shortSha(plan.package.sha256)})`
      );
    case 'update-code':
      return (
        `update code: CodeSha256 ${shortSha(step.fromSha256)} -> ${shortSha(plan.package.sha256)} ` +
        `(${megabytes(plan.package.zip.length)})` +
        (step.fromArch !== plan.arch ? `, architecture ${step.fromArch} -> ${plan.arch}` : '')
      );
    case 'update-configuration':
      return `update configuration: ${step.changes.join(', ')}`;
    case 'publish-version':
      return `publish a version for ${step.memoryMb} MB`;
    case 'set-alias':
      return step.fromVersion === undefined
        ? `create alias ${step.alias} -> the new version`
        : `move alias ${step.alias} from version ${step.fromVersion} to the new version`;
  }
}

/** The actions one step needs. */
function stepActions(step: DeployStep): string[] {
  switch (step.kind) {
    case 'provide-role':
      return [
        ...(step.existingArn === undefined ? ['iam:CreateRole'] : []),
        'iam:AttachRolePolicy',
        'iam:PutRolePolicy',
      ];
    case 'create-function':
      // Waiting for the new function reads it.
      return ['lambda:CreateFunction', 'iam:PassRole', 'lambda:GetFunction'];
    case 'update-code':
      return ['lambda:UpdateFunctionCode', 'lambda:GetFunction'];
    case 'update-configuration':
      return [
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunction',
        ...(step.changes.some((change) => change.startsWith('role ')) ? ['iam:PassRole'] : []),
      ];
    case 'publish-version':
      return ['lambda:PublishVersion', 'lambda:GetFunctionConfiguration'];
    case 'set-alias':
      return [step.fromVersion === undefined ? 'lambda:CreateAlias' : 'lambda:UpdateAlias'];
  }
}

/** The actions a plan needs: its reads (`functionExists`: the aliases were read too) and its steps'. */
export function iamActionsOf(plan: DeployPlan, functionExists: boolean): string[] {
  const reads = [
    'lambda:GetFunction',
    ...(functionExists ? ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'] : []),
    ...(plan.steps.some((step) => step.kind === 'provide-role') ? ['iam:GetRole'] : []),
  ];
  return [...new Set([...reads, ...plan.steps.flatMap(stepActions)])].sort();
}

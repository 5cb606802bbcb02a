/**
 * The runner's execution role, when the user names none: trusted by Lambda,
 * with the managed basic-execution policy (its logs) and S3 access to the
 * configured bucket only (payloads, programs and the S3 store).
 */
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';

import { awsCall, CallContext, DeployClients } from './deploy-calls';
import { DeployError, DeployInputError, isAwsError } from './deploy-errors';

/** IAM's longest role name. */
const MAX_ROLE_NAME = 64;

/** The inline policy's name on the role. */
export const RUNNER_S3_POLICY_NAME = 'serverless-kernel-bucket';

/** The role a deploy creates or reuses for `functionName`. */
export function runnerRoleName(functionName: string): string {
  const name = `${functionName}-runner-role`;
  if (name.length > MAX_ROLE_NAME) {
    throw new DeployInputError(
      `The runner's role name ${name} is over IAM's ${MAX_ROLE_NAME} characters: ` +
        'pass --role <ARN> with a role of your own, or use a shorter function name.',
    );
  }
  return name;
}

/** The AWS partition of a region (ARNs differ in China and GovCloud). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) {
    return 'aws-cn';
  }
  return region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** Who may assume the role: Lambda only. */
export function trustPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  });
}

/** S3 on the configured bucket only: its objects, and listing it. */
export function bucketPolicy(bucket: string, region: string): string {
  const bucketArn = `arn:${partitionOf(region)}:s3:::${bucket}`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: `${bucketArn}/*`,
      },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn },
    ],
  });
}

/** The managed policy that lets the function write its logs. */
export function basicExecutionPolicyArn(region: string): string {
  return `arn:${partitionOf(region)}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`;
}

/** The role's ARN when it exists, else undefined. */
export async function findRole(
  clients: DeployClients,
  roleName: string,
  context: CallContext,
): Promise<string | undefined> {
  try {
    const { Role } = await awsCall('iam:GetRole', context, (abortSignal) =>
      clients.iam.send(new GetRoleCommand({ RoleName: roleName }), { abortSignal }),
    );
    return Role?.Arn;
  } catch (error) {
    if (isAwsError(error, 'NoSuchEntityException')) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Creates the role (or, when `existingArn` is given, takes it) and gives it
 * the runner's policies; both policy calls are idempotent, so a role left
 * half-made by an interrupted deploy is completed. Returns the role's ARN.
 */
export async function provideRole(
  clients: DeployClients,
  role: { name: string; existingArn?: string; bucket: string; region: string },
  context: CallContext,
): Promise<string> {
  let arn = role.existingArn;
  if (arn === undefined) {
    const created = await awsCall('iam:CreateRole', context, (abortSignal) =>
      clients.iam.send(
        new CreateRoleCommand({
          RoleName: role.name,
          AssumeRolePolicyDocument: trustPolicy(),
          Description: 'Execution role of the serverless-kernel Lambda runner',
        }),
        { abortSignal },
      ),
    );
    arn = created.Role?.Arn;
    if (arn === undefined) {
      throw new DeployError(`IAM created ${role.name} but returned no ARN: deploy again to reuse the role.`);
    }
  }
  await awsCall('iam:AttachRolePolicy', context, (abortSignal) =>
    clients.iam.send(
      new AttachRolePolicyCommand({ RoleName: role.name, PolicyArn: basicExecutionPolicyArn(role.region) }),
      { abortSignal },
    ),
  );
  await awsCall('iam:PutRolePolicy', context, (abortSignal) =>
    clients.iam.send(
      new PutRolePolicyCommand({
        RoleName: role.name,
        PolicyName: RUNNER_S3_POLICY_NAME,
        PolicyDocument: bucketPolicy(role.bucket, role.region),
      }),
      { abortSignal },
    ),
  );
  return arn;
}

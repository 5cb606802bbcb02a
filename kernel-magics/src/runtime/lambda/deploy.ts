/**
 * Deploying the Lambda runner through the AWS SDK: {@link planDeploy} reads
 * what the account holds and lists the changes (what `--dry-run` prints),
 * {@link applyDeploy} makes them. Idempotent: a deploy of an unchanged
 * package finds every alias up to date and writes nothing.
 */
export { applyDeploy, ROLE_PROPAGATION_RETRY } from './deploy-apply';
export type { ApplyOptions, DeployProgress, DeployResult } from './deploy-apply';
export { CALL_TIMEOUT_MS, FUNCTION_READY_MAX_WAIT_S, UPLOAD_TIMEOUT_MS } from './deploy-calls';
export type { DeployClients } from './deploy-calls';
export { configurationChanges, deployTargets, planDeploy } from './deploy-plan';
export { DEPLOY_IAM_ACTIONS } from './deploy-steps';
export type { DeployOptions, DeployPlan, DeployStep, PlannedAlias } from './deploy-types';
export * from './deploy-errors';

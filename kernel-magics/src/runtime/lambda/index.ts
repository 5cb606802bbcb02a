/**
 * The AWS Lambda backend (`--backend lambda`): the runner function invoked
 * through the AWS SDK, payloads inline or through S3, billing from the
 * REPORT line.
 */
export { LambdaBackend, LambdaBackendOptions } from './lambda-backend';
export { LambdaConfigError } from './errors';
export { LAMBDA_LIMITS, LambdaSettings, memoryAlias, RUNNER_DEFAULTS } from './config';

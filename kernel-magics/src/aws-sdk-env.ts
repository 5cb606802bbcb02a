/**
 * The AWS SDK warns once per process that its releases after January 2027
 * need Node 22. A notebook user cannot act on it, and it would appear in the
 * cell that first used S3 or Lambda (from the kernel, an environment or the
 * runner): the SDK is pinned in package-lock.json, so the kernel, its
 * environments and the Lambda runner turn the warning off.
 */
export const SDK_NODE_WARNING_OFF = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } as const;

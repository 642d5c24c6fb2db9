import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (see
 * deploy/esbuild-plugins.cjs). Lambda always puts the function role's credentials in the
 * environment, so the SSO, profile, web-identity and metadata providers of the default chain are
 * dead weight there: about 95 KB of minified code and their module init, on the receiver's 1 s path.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);

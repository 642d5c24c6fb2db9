import { join } from 'node:path';
import { loadEnvFiles } from '../local/env-files';

export const ROOT = join(__dirname, '..');

/** Local overrides: read by `npm start` and the scripts, never by a deploy (osls reads `.env`). */
export const LOCAL_OVERRIDES = '.env.local';

/**
 * The local stack's configuration: deploy/local.env, then `.env.local`, then the real environment.
 * Not `.env`: that file is the deploy configuration osls loads, and local values (a plain token,
 * DRY_RUN=true) must never travel between the two.
 */
export function localEnv(root = ROOT, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return loadEnvFiles([join(root, 'deploy', 'local.env'), join(root, LOCAL_OVERRIDES)], env);
}

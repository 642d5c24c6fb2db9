import { join } from 'node:path';
import { loadEnvFiles } from '../lib/local/env-files';

export const ROOT = join(__dirname, '..');

/** The local stack's configuration: deploy/local.env, then .env, then the real environment. */
export function localEnv(): NodeJS.ProcessEnv {
  return loadEnvFiles([join(ROOT, 'deploy', 'local.env'), join(ROOT, '.env')]);
}

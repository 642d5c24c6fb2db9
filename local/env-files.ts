import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The environment for local tools: each file in order (later files win; missing ones skipped),
 * then the real environment on top, so `FOO=1 npm start` always overrides a file.
 */
export function loadEnvFiles(files: string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = {};
  for (const file of files) {
    if (existsSync(file)) Object.assign(merged, parseEnv(readFileSync(file, 'utf8')));
  }
  return { ...merged, ...env };
}

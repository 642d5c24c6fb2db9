import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Size budgets for the packaged functions (zipped bytes). The receiver's cold start sits inside
 * FlashDuty's 1 s deadline, so its zip is held small; it is about 100 KB today.
 */
export const BUDGETS: Record<string, number> = { receiver: 150 * 1024 };

export interface BundleSize {
  name: string;
  bytes: number;
  budget?: number;
  ok: boolean;
}

/** Sizes of every function zip in a package directory, each against its budget if it has one. */
export function bundleSizes(packageDir: string): BundleSize[] {
  if (!existsSync(packageDir)) throw new Error(`${packageDir} does not exist; run npm run package first`);
  return readdirSync(packageDir)
    .filter((file) => file.endsWith('.zip'))
    .map((file) => {
      const name = file.replace(/\.zip$/, '');
      const bytes = statSync(join(packageDir, file)).size;
      const budget = BUDGETS[name];
      return { name, bytes, budget, ok: budget === undefined || bytes <= budget };
    });
}

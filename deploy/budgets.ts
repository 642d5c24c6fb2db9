import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Size budgets for the packaged functions (zipped bytes). The receiver's cold start sits inside
 * FlashDuty's 1 s deadline, so its zip is held small; it is about 90 KB today. Every worker is
 * bundled with its own action only (deploy/worker-bundle.cjs): echo's, the smallest, is held to
 * 200 KB (about 170 KB today); any other gets WORKER_BUDGET. A worker is not on the click's
 * deadline, so its budget only catches a dependency pulled in by mistake, with room for the config
 * files shipped in its zip (rollback's and status-page's code is about 200 KB).
 */
export const BUDGETS: Record<string, number> = { receiver: 150 * 1024, echoWorker: 200 * 1024 };
export const WORKER_BUDGET = 256 * 1024;

export interface BundleSize {
  name: string;
  bytes: number;
  budget?: number;
  ok: boolean;
}

/** The budget of a function zip named `name` (without `.zip`), if it has one. */
export function budgetOf(name: string): number | undefined {
  return BUDGETS[name] ?? (name.endsWith('Worker') ? WORKER_BUDGET : undefined);
}

/** Sizes of every function zip in a package directory, each against its budget if it has one. */
export function bundleSizes(packageDir: string): BundleSize[] {
  if (!existsSync(packageDir)) throw new Error(`${packageDir} does not exist; run npm run package first`);
  return readdirSync(packageDir)
    .filter((file) => file.endsWith('.zip'))
    .map((file) => {
      const name = file.replace(/\.zip$/, '');
      const bytes = statSync(join(packageDir, file)).size;
      const budget = budgetOf(name);
      return { name, bytes, budget, ok: budget === undefined || bytes <= budget };
    });
}

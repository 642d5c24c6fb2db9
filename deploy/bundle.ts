import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';

const ROOT = join(__dirname, '..');
const { esbuildOptions } = require('./esbuild.config.cjs') as { esbuildOptions: Record<string, unknown> };
const { actionModule } = require('./worker-bundle.cjs') as { actionModule: (action: string) => string };

/**
 * Bundles one Lambda entry into `outdir` with the deploy settings and plugins, as serverless-esbuild
 * does (used by the benchmark and the bundle tests). Returns the bundle's path and what went in.
 */
export async function bundleEntry(entry: string, outdir: string): Promise<{ file: string; metafile: Metafile }> {
  const result = await build({ ...esbuildOptions, entryPoints: [join(ROOT, `${entry}.ts`)], outdir, metafile: true, logLevel: 'error' });
  return { file: join(outdir, `${entry.split('/').pop()}.js`), metafile: result.metafile };
}

/** The worker bundle of one action: functions/worker.ts holding only that action. */
export function bundleWorker(action: string, outdir: string): Promise<{ file: string; metafile: Metafile }> {
  return bundleEntry(actionModule(action), outdir);
}

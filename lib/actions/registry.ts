import { echo } from './echo';
import { enrich } from './enrich';
import { restartHost } from './restart-host';
import { rollback } from './rollback';
import { statusPage } from './status-page';
import type { AnyAction } from './types';

/**
 * Every action this bundle knows. To add one: write its module as `lib/actions/<name>.ts` (or
 * `<name>/index.ts`), named after the action, and list it here. Each worker is bundled from its
 * action's module alone (deploy/worker-bundle.cjs), so the file name matters.
 */
export const ACTIONS: ReadonlyArray<AnyAction> = [echo, restartHost, enrich, rollback, statusPage];

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeMemory } from '../../lib/worker/memory';
import { emulatedTable } from './helpers';

describe('action memory (ActionContext.memory) in the idempotency table', () => {
  let dynamodb: DynamoDBClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ dynamodb, stop } = await emulatedTable('idempotency'));
  });
  afterAll(() => stop());

  it('recalls nothing for a key never remembered, then the last value remembered', async () => {
    const memory = makeMemory(dynamodb, 'idempotency', 'rollback');
    expect(await memory.recall('dispatch#evt-1')).toBeUndefined();
    await memory.remember('dispatch#evt-1', { provider: 'github', since: 1 });
    await memory.remember('dispatch#evt-1', { provider: 'github', since: 1, run: { id: '42' } });
    expect(await memory.recall('dispatch#evt-1')).toEqual({ provider: 'github', since: 1, run: { id: '42' } });
  });

  it("keeps each action's keys apart, so status-page cannot read or overwrite rollback's notes", async () => {
    await makeMemory(dynamodb, 'idempotency', 'rollback').remember('shared-key', 'from rollback');
    const statusPage = makeMemory(dynamodb, 'idempotency', 'status-page');
    expect(await statusPage.recall('shared-key')).toBeUndefined();
    await statusPage.remember('shared-key', 'from status-page');
    expect(await makeMemory(dynamodb, 'idempotency', 'rollback').recall('shared-key')).toBe('from rollback');
  });
});

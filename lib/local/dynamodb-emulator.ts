import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

/**
 * Starts dynalite, a DynamoDB emulator speaking the real wire protocol (in memory), for the
 * idempotency table. `port` 0 picks a free port.
 */
export async function startDynamoDbEmulator(port = 0): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

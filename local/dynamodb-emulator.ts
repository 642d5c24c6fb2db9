import dynalite from 'dynalite';
import { listenLocal, LOCAL_HOST } from './listen';

/**
 * Starts dynalite, a DynamoDB emulator speaking the real wire protocol (in memory), for the
 * idempotency table. `port` 0 picks a free port.
 */
export async function startDynamoDbEmulator(port = 0): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listening = await listenLocal(server, port);
  return {
    endpoint: `http://${LOCAL_HOST}:${listening}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

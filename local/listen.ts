import type { AddressInfo, Server } from 'node:net';

/** Every local server listens here only: the stand-ins accept any key and must not be reachable from the network. */
export const LOCAL_HOST = '127.0.0.1';

/**
 * Listens on 127.0.0.1 and resolves with the port (`port` 0 picks a free one). Rejects with the
 * listen error (`code` EADDRINUSE when the port is taken) instead of crashing on an unhandled
 * 'error' event.
 */
export function listenLocal(server: Server, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

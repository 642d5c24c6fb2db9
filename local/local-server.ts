import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, LOCAL_HOST } from './listen';

/** A stand-in's HTTP server on 127.0.0.1 (port 0 picks a free one): its URL and how to stop it. */
export async function serveLocal(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, port = 0): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer((req, res) => void handle(req, res));
  const bound = await listenLocal(server, port);
  return {
    url: `http://${LOCAL_HOST}:${bound}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A stand-in served on 127.0.0.1 (see serveLocal); a subclass answers each request in `handle`. */
export abstract class LocalStandIn {
  private stopServer?: () => Promise<void>;

  /** Starts listening (port 0 picks a free one) and resolves with the base URL. */
  async start(port = 0): Promise<string> {
    const served = await serveLocal((req, res) => this.handle(req, res), port);
    this.stopServer = served.stop;
    return served.url;
  }

  async stop(): Promise<void> {
    await this.stopServer?.();
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

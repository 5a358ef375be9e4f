// A workload-facing Unix socket relaying to the agent's internal gRPC socket, so stopping it drops connections.
// Why: a killed SPIRE agent drops them (clients see UNAVAILABLE); grpc-js forceShutdown cancels (CANCELLED).
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** A listening front; `close()` stops accepting, destroys every relayed connection and removes the file. */
export interface SocketFront {
  close(): Promise<void>;
}

/**
 * Listens on `publicPath` (its directory created, a stale file replaced) and pipes each connection to
 * `internalPath`. Rejects when the path cannot be bound.
 */
export async function openSocketFront(publicPath: string, internalPath: string): Promise<SocketFront> {
  await mkdir(path.dirname(publicPath), { recursive: true });
  await rm(publicPath, { force: true });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(internalPath);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    // Either side failing ends both; no error escapes as an unhandled event.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(publicPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      // Node unlinks the socket file on close; this covers a file left by anything else.
      await rm(publicPath, { force: true });
    },
  };
}

// Starts a Hono app on loopback over http or https and hands back its URL and a close function.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { PemPair } from './tls.js';

export interface ServeOptions {
  /** Port to bind; 0 picks a free one. */
  port?: number;
  /** Loopback address to bind; never anything else. */
  host?: string;
  /** Certificate and key for https; plain http without. */
  tls?: PemPair;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Binds the app; rejects with a message naming the port when it is taken. */
export async function serve(app: Hono, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const listener = getRequestListener(app.fetch);
  const server = options.tls
    ? https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, listener)
    : http.createServer(listener);
  return listen(server, host, options.port ?? 0, options.tls ? 'https' : 'http');
}

/** Listens on host:port and resolves once bound; shared by every sandbox server. */
export function listen(
  server: http.Server | https.Server,
  host: string,
  port: number,
  scheme: 'http' | 'https',
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use; stop what holds it or choose another port`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const bound = (server.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `${scheme}://${shownHost}:${bound}`,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

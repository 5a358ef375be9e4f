// Test helpers for the local host: start a fixture app on a free port with captured logs, raw HTTP calls.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type LocalHost,
  type LocalHostOptions,
  type LogEntry,
  startLocalHost,
} from '../../../sandbox/host/localHost.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** Absolute path of a fixture app under test/fixtures. */
export const fixture = (name: string): string => path.join(fixtures, name);

/** The app settings the main fixture app needs (its `nightly` timer reads %NIGHTLY_SCHEDULE%). */
export const fixtureEnv = { NIGHTLY_SCHEDULE: '0 0 3 * * *' };

export interface StartedHost {
  host: LocalHost;
  logs: LogEntry[];
}

/** Starts a fixture app on port 0 with every log line captured. */
export async function startFixture(
  name: string,
  options: Partial<LocalHostOptions> = {},
): Promise<StartedHost> {
  const logs: LogEntry[] = [];
  const host = await startLocalHost({
    appRoot: fixture(name),
    port: 0,
    log: (entry) => logs.push(entry),
    ...options,
  });
  return { host, logs };
}

/** Polls until `predicate` holds; fails after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface RawResponse {
  status: number;
  /** Node's rawHeaders, so repeated headers (Set-Cookie) stay separate. */
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request with full control over header lines (repeats kept as separate lines). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: string[]; body?: Buffer | string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // With header lines given as an array Node adds no Host header, which HTTP/1.1 requires.
    const headers = ['Host', new URL(url).host, ...(options.headers ?? [])];
    const req = http.request(url, { method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          rawHeaders: res.rawHeaders,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Values of every header line called `name` (case-insensitive). */
export function headerLines(response: RawResponse, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    if (response.rawHeaders[i]?.toLowerCase() === name) values.push(response.rawHeaders[i + 1] ?? '');
  }
  return values;
}

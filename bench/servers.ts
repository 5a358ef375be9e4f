// `node dist/bench/servers.js <kind> <port> <sandbox state dir>`: a server the benchmark measures against
// the broker on the local Functions host, each in its own process so the load generator does not share
// its event loop:
//   bare      the broker's token endpoint (shared/exchange/tokenEndpoint.ts) behind a minimal node:http
//             adapter: no Functions host, no @azure/functions request model,
//             with the sandbox broker's settings (`broker-settings.json`);
//   baseline  node:http doing one jose verification of the caller's JWT per request and answering a
//             body of the size the broker answers (the minimum work a broker must do);
//   health    node:http answering the health body (what the local host's own round trip costs).
// Prints "listening <port>" when it serves.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { trustCertificateAuthority } from '../sandbox/lib/tls.js';

const [kind, portText, stateDir] = process.argv.slice(2);
const port = Number(portText);

const readBody = (request: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

async function bare(): Promise<http.RequestListener> {
  const settings = JSON.parse(
    await readFile(path.join(stateDir as string, 'broker-settings.json'), 'utf8'),
  ) as Record<string, string>;
  Object.assign(process.env, settings, JSON.parse(process.env.BENCH_SETTINGS ?? '{}'));
  trustCertificateAuthority(await readFile(path.join(stateDir as string, 'ca.pem'), 'utf8'));
  const { handleTokenRequest } = await import('../shared/exchange/tokenEndpoint.js');
  // The broker's lines are formatted as always; only their destination is dropped.
  const discard = { info() {}, warn() {}, error() {} };
  return async (request, response) => {
    const result = await handleTokenRequest(
      {
        contentType: request.headers['content-type'] ?? null,
        contentLength: request.headers['content-length'] ?? null,
        body: () => readBody(request),
      },
      discard,
    );
    response.writeHead(result.status, {
      ...result.headers,
      'content-length': Buffer.byteLength(result.body),
    });
    response.end(result.body);
  };
}

async function baseline(): Promise<http.RequestListener> {
  // The Google issuer's keys and the broker's audience, as the sandbox broker has them.
  const settings = JSON.parse(
    await readFile(path.join(stateDir as string, 'broker-settings.json'), 'utf8'),
  ) as Record<string, string>;
  trustCertificateAuthority(await readFile(path.join(stateDir as string, 'ca.pem'), 'utf8'));
  const jwks = (await (await fetch(settings.GOOGLE_JWKS_URL as string)).json()) as JSONWebKeySet;
  const keys = createLocalJWKSet(jwks);
  // SVIDs carry no `iss`: their keys are the caller trust domain's bundle, which the benchmark passes in.
  const bundle = process.env.BENCH_SPIFFE_BUNDLE;
  const svidKeys = bundle
    ? createLocalJWKSet(JSON.parse(await readFile(bundle, 'utf8')) as JSONWebKeySet)
    : undefined;
  const size = Number(process.env.BENCH_BODY_BYTES ?? 1500);
  // The answer is built once: the least a server that only verifies must do per request.
  const text = JSON.stringify({ access_token: 'x'.repeat(Math.max(0, size - 20)) });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  return async (request, response) => {
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    try {
      const token = form.get('subject_token') ?? '';
      // A token with `iss` is Google's; one without is an SVID (the broker decides the same way).
      if (decodeJwt(token).iss !== undefined || !svidKeys)
        await jwtVerify(token, keys, {
          issuer: 'https://accounts.google.com',
          audience: settings.BROKER_AUDIENCE as string,
          algorithms: ['RS256'],
        });
      else
        await jwtVerify(token, svidKeys, {
          audience: settings.BROKER_AUDIENCE as string,
          algorithms: ['ES256', 'RS256'],
        });
      response.writeHead(200, headers);
      response.end(text);
    } catch {
      response.writeHead(401).end();
    }
  };
}

const health: http.RequestListener = (_request, response) => {
  const text = JSON.stringify({ status: 'ok' });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
};

async function main(): Promise<void> {
  const listener = kind === 'bare' ? await bare() : kind === 'baseline' ? await baseline() : health;
  if (!['bare', 'baseline', 'health'].includes(kind as string) || !Number.isInteger(port))
    throw new Error('usage: servers.js bare|baseline|health <port> <sandbox state dir>');
  const server = http.createServer({ keepAliveTimeout: 60_000 }, listener);
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  process.once('SIGINT', () => server.close(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(`bench server failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

// The hostile suite's harness (issue 7): the real sandbox in a child process (what `npm start` runs),
// the broker reached only over its socket, issuers driven through their sandbox-only admin routes, and
// a tripwire listener that must never be contacted. Black box: nothing here imports the broker's core.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { interrupt, type Launched, launch, whenUp } from '../../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../../sandbox/lib/tls.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** What the broker answered: status, headers, the raw body and its JSON when it parses. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** A request to an issuer's `/admin/mint` (sandbox/lib/oidcIssuer.ts): a correctly signed token with anything in it. */
export interface MintRequest {
  claims?: Record<string, unknown>;
  /** The payload's exact bytes (duplicate names, arrays, `__proto__`). */
  payloadJson?: string;
  /** Merged over `{alg, kid, typ: "JWT"}`; `null` removes a field. */
  header?: Record<string, unknown>;
  /** The protected header's exact bytes. */
  headerJson?: string;
  kid?: string;
  /** Sign under another algorithm of the key's type (e.g. PS256 with an RS256 key). */
  alg?: string;
}

/** A request to an issuer's `/admin/keys`. */
export interface AddKeyRequest {
  alg?: string;
  kid?: string;
  modulusLength?: number;
  publish?: boolean;
  jwkFields?: Record<string, unknown>;
}

export interface HostileSandbox {
  endpoints: SandboxEndpoints;
  /** Everything the sandbox (the broker's log lines included) wrote so far. */
  output(): string;
  /** POST /api/token with the contract's grant and token type unless `params` overrides them. */
  exchange(params: Record<string, string>): Promise<Answer>;
  /** POST /api/token with this exact body and content type. */
  post(body: string | Uint8Array, headers?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Starts the sandbox on free ports and trusts its CA in this process. */
export async function startHostileSandbox(): Promise<HostileSandbox> {
  const launched: Launched = await launch();
  let endpoints: SandboxEndpoints;
  try {
    endpoints = await whenUp(launched);
  } catch (error) {
    await interrupt(launched);
    throw error;
  }
  trustCertificateAuthority(await readFile(endpoints.caCertificate, 'utf8'));
  const post = async (body: string | Uint8Array, headers: Record<string, string> = {}) =>
    answerOf(
      await fetch(endpoints.broker.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      }),
    );
  return {
    endpoints,
    output: () => launched.output(),
    post,
    exchange: (params) =>
      post(
        new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token_type: JWT_TOKEN_TYPE,
          ...params,
        }).toString(),
      ),
    close: async () => {
      await interrupt(launched);
    },
  };
}

/** Drives an issuer stand-in through its sandbox-only admin routes. */
export interface IssuerControl {
  mint(request: MintRequest): Promise<string>;
  addKey(request: AddKeyRequest): Promise<string>;
}

export function issuerControl(adminUrl: string): IssuerControl {
  const call = async (route: string, body: unknown, expected: number) => {
    const response = await fetch(`${adminUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`issuer admin ${route}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, string>;
  };
  return {
    mint: async (request) => (await call('/mint', request, 200)).token as string,
    addKey: async (request) => (await call('/keys', request, 201)).kid as string,
  };
}

/** Claims of a Google ID token the sandbox's demo policy admits: the demo caller VM's account. */
export function admittedGoogleClaims(endpoints: SandboxEndpoints, now = Math.floor(Date.now() / 1000)) {
  return {
    iss: 'https://accounts.google.com',
    aud: endpoints.broker.audience,
    azp: endpoints.gcp.callerVm.uniqueId,
    sub: endpoints.gcp.callerVm.uniqueId,
    email: endpoints.gcp.callerVm.serviceAccount,
    email_verified: true,
    iat: now,
    exp: now + 3600,
  };
}

/** A loopback listener that counts every TCP connection: URLs pointing at it must never be contacted. */
export interface Tripwire {
  /** `http://127.0.0.1:<port>`, to plant in tokens. */
  url: string;
  /** `https://127.0.0.1:<port>`, the same listener. */
  httpsUrl: string;
  connections(): number;
  close(): Promise<void>;
}

export async function startTripwire(): Promise<Tripwire> {
  let count = 0;
  const server = net.createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    httpsUrl: `https://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Starts the sandbox and a tripwire for the calling test file (beforeAll) and stops both (afterAll);
 * read the fields inside tests or later hooks.
 */
export function useSandboxAndTripwire(): { readonly sandbox: HostileSandbox; readonly tripwire: Tripwire } {
  const state = {} as { sandbox: HostileSandbox; tripwire: Tripwire };
  beforeAll(async () => {
    [state.sandbox, state.tripwire] = await Promise.all([startHostileSandbox(), startTripwire()]);
  });
  afterAll(async () => {
    await state.sandbox?.close();
    await state.tripwire?.close();
  });
  return state;
}

/** Any compact JWS (or JWE) shaped run of base64url: none may ever appear in a log line. */
export const JWT_SHAPED = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;

/** The RFC 6749 §5.2 error shape, exactly: the two members, the description's characters. */
export function isContractError(answer: Answer): boolean {
  const body = answer.json;
  return (
    body !== undefined &&
    Object.keys(body).sort().join(',') === 'error,error_description' &&
    typeof body.error === 'string' &&
    /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(String(body.error_description)) &&
    answer.headers.get('cache-control') === 'no-store' &&
    (answer.headers.get('content-type') ?? '').startsWith('application/json')
  );
}

// A stand-in for the managed identity endpoint App Service and Azure Functions give an app (IDENTITY_ENDPOINT,
// IDENTITY_HEADER; protocol 2019-08-01), over plain http on loopback as the real one is on the app's host.
// Tokens come from the Entra stand-in (its managedIdentityTokens.ts), so they are Entra-signed and name the
// identity as Entra would. Rules and every undocumented choice: ./README.md.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { mountFaultRoutes } from '../lib/faultTable.js';
import { type RunningServer, serve } from '../lib/serve.js';
import { EndpointFaults, endpointFaultSchema } from './endpointFaults.js';

/** A user-assigned identity attached to the app. */
export interface AttachedIdentity {
  clientId: string;
  /** Object (principal) id. */
  principalId: string;
  /** ARM resource id (`/subscriptions/…/userAssignedIdentities/<name>`). */
  resourceId: string;
}

/** What the platform gets from Entra for an identity and a resource; undefined when Entra will not issue. */
export type IssueToken = (request: {
  clientId: string;
  resource: string;
}) => Promise<{ accessToken: string; expiresOn: number } | undefined>;

export interface IdentityEndpointOptions {
  identities: readonly AttachedIdentity[];
  issue: IssueToken;
  /** IDENTITY_HEADER's value; 32 random bytes in hex unless told. */
  header?: string;
}

export const IDENTITY_API_VERSION = '2019-08-01';
/** The token route, as App Service on Linux serves it. */
const TOKEN_PATH = '/msi/token';
/**
 * The answer to a request without the right `X-IDENTITY-HEADER`. UNCONFIRMED: Microsoft documents no status
 * or body for it; 401 was observed in an SDK issue (azure-sdk-for-js#11595), the body is a guess.
 */
const REFUSAL = { error: 'unauthorized', message: 'X-IDENTITY-HEADER is missing or wrong.' } as const;

/** Handles on the stand-in for tests and the launcher. */
export interface IdentityEndpoint {
  app: Hono;
  /** IDENTITY_HEADER's value: a secret, like the real one. Never put it in endpoints.json or a log. */
  header: string;
  faults: EndpointFaults;
  /** Token requests that reached the route, refused or not. */
  requests(): number;
}

const equalSecrets = (given: string | undefined, expected: string): boolean => {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

const badRequest = (c: Context, code: string, message: string) => c.json({ error: { code, message } }, 400);

/** Builds the endpoint as a Hono app: `GET /msi/token` and `/admin/faults`, `/admin/requests`. */
export function createIdentityEndpoint(options: IdentityEndpointOptions): IdentityEndpoint {
  const header = options.header ?? randomBytes(32).toString('hex');
  const faults = new EndpointFaults();
  let requests = 0;
  const app = new Hono();
  const admin = new Hono();
  mountFaultRoutes(admin, endpointFaultSchema, faults);
  admin.get('/requests', (c) => c.json({ requests }));
  app.route('/admin', admin);

  app.get(TOKEN_PATH, async (c) => {
    requests++;
    // The platform authenticates the caller before anything else can go wrong, so a status fault plays only
    // for a request with the right header; a delay plays for any.
    const authenticated = equalSecrets(c.req.header('x-identity-header'), header);
    const fault = faults.take(authenticated);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (!authenticated) return c.json(REFUSAL, 401);
    if (fault?.status !== undefined) {
      c.header('Content-Type', 'application/json');
      if (fault.location !== undefined) c.header('Location', fault.location);
      return c.body(fault.body ?? '{"error":"injected"}', fault.status as 200);
    }
    // The 2019-08-01 protocol (python SDK issue #11346, msal-node's AppService source): api-version,
    // resource, and at most one of client_id / principal_id (object_id) / mi_res_id.
    const version = c.req.query('api-version');
    if (version !== IDENTITY_API_VERSION)
      return badRequest(
        c,
        'UnsupportedApiVersion',
        `The HTTP resource does not support the API version '${version ?? ''}'.`,
      );
    const resource = c.req.query('resource');
    if (!resource) return badRequest(c, 'BadRequest', 'The resource parameter is required.');
    const selectors = [
      ['client_id', (id: AttachedIdentity) => id.clientId],
      ['principal_id', (id: AttachedIdentity) => id.principalId],
      ['object_id', (id: AttachedIdentity) => id.principalId],
      ['mi_res_id', (id: AttachedIdentity) => id.resourceId],
    ] as const;
    const given = selectors.filter(([name]) => c.req.query(name) !== undefined);
    // No selector means the system-assigned identity, which this app does not have (and which could not
    // serve as a federated credential anyway).
    if (given.length !== 1)
      return badRequest(c, 'BadRequest', 'Name exactly one user-assigned identity attached to the app.');
    const [[name, idOf]] = given as unknown as [(typeof selectors)[number]];
    const wanted = (c.req.query(name) ?? '').toLowerCase();
    const identity = options.identities.find((id) => idOf(id).toLowerCase() === wanted);
    if (!identity) return badRequest(c, 'BadRequest', 'Unable to load the proper Managed Identity.');
    const token = await options.issue({ clientId: identity.clientId, resource });
    if (!token) return badRequest(c, 'BadRequest', `No token can be issued for resource '${resource}'.`);
    c.header('Cache-Control', 'no-store');
    return c.json({
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  });
  return { app, header, faults, requests: () => requests };
}

export type RunningIdentityEndpoint = IdentityEndpoint &
  RunningServer & {
    /** IDENTITY_ENDPOINT's value. */
    endpoint: string;
  };

/** Creates the endpoint and serves it over http on loopback (port 0 picks a free one). */
export async function startIdentityEndpoint(
  options: IdentityEndpointOptions & { port?: number },
): Promise<RunningIdentityEndpoint> {
  const endpoint = createIdentityEndpoint(options);
  const server = await serve(endpoint.app, { port: options.port ?? 0 });
  return { ...endpoint, ...server, endpoint: `${server.url}${TOKEN_PATH}` };
}

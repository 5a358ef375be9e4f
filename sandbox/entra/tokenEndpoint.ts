// The token endpoints over HTTP: POST /{tenant}/oauth2/v2.0/token and /{tenant}/oauth2/token, form-encoded
// only, with fault injection in front and Entra's success and error shapes and headers (protocols.md §A.3, §A.4).
import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type AadstsCode, entraError } from './aadsts.js';
import { type Decision, type DecisionLog, sha256Prefix } from './decisionLog.js';
import { sendEntraError } from './discovery.js';
import { type ExchangeDeps, type ExchangeResult, exchangeAssertion } from './exchange.js';
import type { FaultAction, FaultInjector } from './faults.js';
import type { EndpointVersion } from './tokenRequest.js';

export interface TokenEndpointDeps extends ExchangeDeps {
  faults: FaultInjector;
  log: DecisionLog;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the form body; any other content type is read as an empty form (→ 900144 grant_type), as Entra does. */
async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return new URLSearchParams();
  return new URLSearchParams(await c.req.text());
}

function responseHeaders(traceId: string, correlationId: string): Record<string, string> {
  return {
    'Cache-Control': 'no-store, no-cache',
    Pragma: 'no-cache',
    'x-ms-request-id': traceId,
    'client-request-id': correlationId,
    'x-ms-ests-server': 'entra-stand-in',
    'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  };
}

function assertionSummary(form: URLSearchParams, result: ExchangeResult | undefined): Decision['assertion'] {
  const raw = form.get('client_assertion');
  if (!raw) return undefined;
  const decoded = result?.assertion;
  return {
    ...(decoded ? { iss: decoded.iss, sub: decoded.sub, aud: decoded.aud.join(',') } : {}),
    sha256: sha256Prefix(raw),
  };
}

/** Token routes for both endpoint versions; other methods get AADSTS900561. */
export function tokenRoutes(deps: TokenEndpointDeps): Hono {
  const app = new Hono();
  const routes: Array<[string, EndpointVersion]> = [
    ['/:tenant/oauth2/v2.0/token', 'v2'],
    ['/:tenant/oauth2/token', 'v1'],
  ];
  for (const [path, endpoint] of routes) {
    app.post(path, (c) => handleToken(c, endpoint, deps));
    app.on(['GET', 'PUT', 'PATCH', 'DELETE'], path, (c) =>
      sendEntraError(c, deps.policy, 900561, { validVerbs: 'POST', verb: c.req.method }),
    );
  }
  return app;
}

async function handleToken(
  c: Context,
  endpoint: EndpointVersion,
  deps: TokenEndpointDeps,
): Promise<Response> {
  const { policy } = deps;
  const traceId = randomUUID();
  const correlationId = c.req.header('client-request-id') ?? c.req.query('client-request-id') ?? randomUUID();
  const headers = responseHeaders(traceId, correlationId);
  const pathTenant = c.req.param('tenant') ?? '';
  const form = await readForm(c);
  const clientId = form.get('client_id') ?? '';
  const tenant = deps.directory.findTenant(pathTenant);
  const decision = (fields: Pick<Decision, 'outcome' | 'status'> & Partial<Decision>): void =>
    deps.log.record({
      at: new Date(policy.clock.now()).toISOString(),
      traceId,
      endpoint,
      tenant: tenant?.id ?? pathTenant,
      clientId,
      target: form.get(endpoint === 'v2' ? 'scope' : 'resource') ?? undefined,
      ...fields,
    });
  const errorBody = (code: AadstsCode, params: Readonly<Record<string, string | number>> = {}) =>
    entraError(code, params, {
      traceId,
      correlationId,
      now: policy.clock.now(),
      separator: policy.descriptionSeparator,
      overrides: policy.aadstsOverrides,
    });

  const tenantNames = [pathTenant, ...(tenant ? [tenant.id, ...tenant.domains] : [])];
  const fault = deps.faults.take(tenantNames, clientId, policy.clock.now());
  if (fault?.latencyMs) await sleep(fault.latencyMs);
  if (fault?.status !== undefined)
    return sendFault(c, fault, headers, errorBody, decision, policy.throttleBody);

  const result = await exchangeAssertion(form, pathTenant, endpoint, deps);
  const assertion = assertionSummary(form, result);
  if (!result.ok) {
    const { status, body } = errorBody(result.refusal.code, result.refusal.params);
    decision({ outcome: 'refused', status, code: result.refusal.code, error: body.error, assertion });
    return c.json(body, status as 400, headers);
  }

  const { token, request } = result;
  decision({ outcome: 'issued', status: 200, tokenVersion: token.version, assertion });
  if (endpoint === 'v2') {
    return c.json(
      {
        token_type: 'Bearer',
        expires_in: token.expiresIn,
        ext_expires_in: token.expiresIn,
        access_token: token.accessToken,
      },
      200,
      headers,
    );
  }
  // v1 answers every number as a string and echoes the resource (§A.3, E15).
  return c.json(
    {
      token_type: 'Bearer',
      expires_in: String(token.expiresIn),
      ext_expires_in: String(token.expiresIn),
      expires_on: String(token.expiresOn),
      not_before: String(token.notBefore),
      resource: request.requestedIdentifier,
      access_token: token.accessToken,
    },
    200,
    headers,
  );
}

function sendFault(
  c: Context,
  fault: FaultAction,
  headers: Record<string, string>,
  errorBody: (code: AadstsCode) => ReturnType<typeof entraError>,
  decision: (fields: Pick<Decision, 'outcome' | 'status'> & Partial<Decision>) => void,
  defaultThrottleBody: 'text' | 'json',
): Response {
  const status = fault.status ?? 503;
  const withRetry =
    fault.retryAfterSeconds === undefined
      ? headers
      : { ...headers, 'Retry-After': String(fault.retryAfterSeconds) };
  if (status === 429 && (fault.throttleBody ?? defaultThrottleBody) === 'text') {
    // Entra's throttling answer may be a bare text body (§A.5, I-msalnet-2855).
    decision({ outcome: 'fault', status });
    return c.text('Too Many Requests', 429, withRetry);
  }
  const code = status === 429 ? 90055 : 90006;
  const { body } = errorBody(code);
  decision({ outcome: 'fault', status, code, error: body.error });
  return c.json(body, status as 503, withRetry);
}

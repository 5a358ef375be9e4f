// Request-level refusals of the token endpoint: one test per rule, each asserting Entra's exact AADSTS code,
// `error` value, HTTP status and message, plus the shape of Entra's error body (protocols.md §A.4, §A.5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_V2,
  CALLER,
  type EntraFixture,
  expectRefusal,
  MI,
  startEntraFixture,
  TENANT,
} from './standInFixture.js';

describe('token endpoint: request-level refusals', () => {
  let fx: EntraFixture;
  let assertion: string;
  beforeAll(async () => {
    fx = await startEntraFixture();
    assertion = await fx.assertion();
  });
  afterAll(() => fx.close());

  it("renders Entra's error body exactly", async () => {
    const res = await fx.token({ grant_type: undefined, client_assertion: assertion });

    expect(Object.keys(res.body).sort()).toEqual([
      'correlation_id',
      'error',
      'error_codes',
      'error_description',
      'error_uri',
      'timestamp',
      'trace_id',
    ]);
    const stamp = new Date(fx.clock.now()).toISOString().slice(0, 19).replace('T', ' ');
    expect(res.body.timestamp).toBe(`${stamp}Z`);
    expect(res.body.error_uri).toBe('https://login.microsoftonline.com/error?code=900144');
    expect(res.body.error_description).toBe(
      `AADSTS900144: The request body must contain the following parameter: 'grant_type'. Trace ID: ${res.body.trace_id} Correlation ID: ${res.body.correlation_id} Timestamp: ${stamp}Z`,
    );
    expect(res.headers.get('x-ms-request-id')).toBe(res.body.trace_id);
    expect(res.headers.get('cache-control')).toBe('no-store, no-cache');
  });

  it.each([
    ['grant_type', { grant_type: undefined }],
    ['client_id', { client_id: undefined }],
    ['client_assertion_type', { client_assertion_type: undefined }],
    ['scope', { scope: undefined }],
  ])('refuses a request without %s: 900144 naming it', async (name, fields) => {
    const res = await fx.token({ client_assertion: assertion, ...fields });

    expectRefusal(res, 900144, 'invalid_request', 400, `following parameter: '${name}'.`);
  });

  it('refuses a v1 request without resource: 900144', async () => {
    const res = await fx.token({ client_assertion: assertion, resource: undefined }, { endpoint: 'v1' });

    expectRefusal(res, 900144, 'invalid_request', 400, "parameter: 'resource'.");
  });

  it('reads a JSON body as an empty form: 900144 grant_type (form-encoded only)', async () => {
    const res = await fx.standIn.app.request(`/${TENANT.id}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: CALLER.appId,
        client_assertion: assertion,
      }),
    });
    const body = (await res.json()) as { error_codes: number[] };

    expect(res.status).toBe(400);
    expect(body.error_codes).toEqual([900144]);
  });

  it('refuses a grant other than client_credentials: 70003 unsupported_grant_type', async () => {
    const res = await fx.token({
      client_assertion: assertion,
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    });

    expectRefusal(
      res,
      70003,
      'unsupported_grant_type',
      400,
      "unsupported grant type 'urn:ietf:params:oauth:grant-type:token-exchange'",
    );
  });

  it.each(['common', 'consumers', 'organizations', 'Common'])(
    'refuses client credentials on /%s: 9001023',
    async (tenant) => {
      const res = await fx.token({ client_assertion: assertion }, { tenant });

      expectRefusal(
        res,
        9001023,
        'invalid_request',
        400,
        'not supported over the /common or /consumers endpoints',
      );
    },
  );

  it('refuses an unknown tenant: 90002', async () => {
    const res = await fx.token({ client_assertion: assertion }, { tenant: 'nowhere.onmicrosoft.com' });

    expectRefusal(res, 90002, 'invalid_request', 400, "Tenant 'nowhere.onmicrosoft.com' not found.");
  });

  it('refuses any client_secret (the stand-in holds none): 7000215 invalid_client 401', async () => {
    const res = await fx.token({
      client_secret: 'guess',
      client_assertion: undefined,
      client_assertion_type: undefined,
    });

    expectRefusal(res, 7000215, 'invalid_client', 401, `secret added to app '${CALLER.appId}'`);
    expect(res.text).not.toContain('guess');
  });

  it('refuses a request with no client_assertion: 7000218 invalid_client 401', async () => {
    const res = await fx.token({ client_assertion: undefined });

    expectRefusal(res, 7000218, 'invalid_client', 401, "'client_assertion' or 'client_secret'");
  });

  it('refuses a client_assertion_type other than jwt-bearer: 90011', async () => {
    const res = await fx.token({
      client_assertion: assertion,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    });

    expectRefusal(res, 90011, 'invalid_request', 400, 'Unexpected client assertion type.');
  });

  it('refuses a v1 `resource` parameter on the v2 endpoint: 901002', async () => {
    const res = await fx.token({ client_assertion: assertion, resource: API_V2.uri });

    expectRefusal(res, 901002, 'invalid_request', 400);
  });

  it('refuses an unknown client: 700016 unauthorized_client naming the client and tenant', async () => {
    const unknown = '99999999-0000-4000-8000-000000000099';
    const res = await fx.token({ client_assertion: assertion, client_id: unknown });

    expectRefusal(
      res,
      700016,
      'unauthorized_client',
      400,
      `Application with identifier '${unknown}' was not found in the directory '${TENANT.name}'.`,
    );
  });

  it('refuses a scope naming two resources: 700022', async () => {
    const res = await fx.token({
      client_assertion: assertion,
      scope: `${API_V2.uri}/.default https://graph.microsoft.com/.default`,
    });

    expectRefusal(res, 700022, 'invalid_scope', 400, 'contains more than one resource');
  });

  it.each([`${API_V2.uri}/Things.Read`, `${API_V2.uri}/.default openid`, API_V2.uri])(
    'refuses a scope without /.default (%s): 1002012',
    async (scope) => {
      const res = await fx.token({ client_assertion: assertion, scope });

      expectRefusal(res, scope.includes(' ') ? 700022 : 1002012, 'invalid_scope', 400);
    },
  );

  it('refuses a resource not in the tenant: 500011 invalid_resource naming resource and tenant', async () => {
    const res = await fx.token({ client_assertion: assertion, scope: 'api://nothing-here/.default' });

    expectRefusal(
      res,
      500011,
      'invalid_resource',
      400,
      `The resource principal named api://nothing-here was not found in the tenant named ${TENANT.name}.`,
    );
  });

  it('refuses a GET on the token endpoint: 900561', async () => {
    const res = await fx.standIn.app.request(`/${TENANT.id}/oauth2/v2.0/token`);
    const body = (await res.json()) as { error_codes: number[] };

    expect(res.status).toBe(400);
    expect(body.error_codes).toEqual([900561]);
  });

  it('lets a managed identity authenticate with its own FIC', async () => {
    const res = await fx.token({
      client_id: MI.clientId,
      client_assertion: await fx.assertion({ sub: MI.subject }),
    });

    expect(res.status).toBe(200);
  });
});

describe('token endpoint: configurable catalogue', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture({
      aadstsOverrides: { 700016: { status: 401, error: 'invalid_client' } },
      descriptionSeparator: '\r\n',
    });
  });
  afterAll(() => fx.close());

  it('applies a status/error override and the older CRLF description layout', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion(),
      client_id: '99999999-0000-4000-8000-000000000099',
    });

    expectRefusal(res, 700016, 'invalid_client', 401);
    expect(res.body.error_description).toContain('\r\nTrace ID: ');
    expect(res.body.error_description).toContain('\r\nCorrelation ID: ');
  });
});

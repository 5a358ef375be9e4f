// The composed stand-in: Graph and ARM share the token endpoint's directory, so a FIC written through
// either API is what the next exchange is judged against, and a deleted one stops matching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLER, type EntraFixture, EXCHANGE_AUD, ISSUER, MI, startEntraFixture } from './standInFixture.js';

describe('stand-in composition', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  /** An access token for `scope` from the stand-in's own token endpoint, as the caller app. */
  const accessToken = async (scope: string): Promise<string> => {
    const res = await fx.token({ client_assertion: await fx.assertion({ sub: CALLER.subject }), scope });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };

  const call = async (method: string, path: string, body?: unknown) => {
    const resource = path.startsWith('/subscriptions/')
      ? 'https://management.azure.com'
      : 'https://graph.microsoft.com';
    return fx.standIn.app.request(path, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await accessToken(`${resource}/.default`)}`,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };

  it('honours a FIC created through Graph and refuses again once it is deleted', async () => {
    const assertion = await fx.assertion({ sub: 'added-through-graph' });
    const before = await fx.token({ client_assertion: assertion });
    const created = await call(
      'POST',
      `/v1.0/applications(appId='${CALLER.appId}')/federatedIdentityCredentials`,
      {
        name: 'added-through-graph',
        issuer: ISSUER,
        subject: 'added-through-graph',
        audiences: [EXCHANGE_AUD],
      },
    );
    const { id } = (await created.json()) as { id: string };
    const during = await fx.token({ client_assertion: assertion });
    const deleted = await call(
      'DELETE',
      `/v1.0/applications(appId='${CALLER.appId}')/federatedIdentityCredentials/${id}`,
    );
    const after = await fx.token({ client_assertion: assertion });

    expect(before.body.error_codes).toEqual([700213]);
    expect(created.status).toBe(201);
    expect(during.status).toBe(200);
    expect(deleted.status).toBe(204);
    expect(after.body.error_codes).toEqual([700213]);
  });

  it('honours a FIC created through ARM on a user-assigned managed identity', async () => {
    const assertion = await fx.assertion({ sub: 'added-through-arm' });
    const path = `/subscriptions/${MI.subscriptionId}/resourceGroups/rg-broker/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-broker/federatedIdentityCredentials/arm-fic?api-version=2023-01-31`;
    const before = await fx.token({ client_id: MI.clientId, client_assertion: assertion });
    const put = await call('PUT', path, {
      properties: { issuer: ISSUER, subject: 'added-through-arm', audiences: [EXCHANGE_AUD] },
    });
    const after = await fx.token({ client_id: MI.clientId, client_assertion: assertion });

    expect(before.body.error_codes).toEqual([700213]);
    expect([200, 201]).toContain(put.status);
    expect(after.status).toBe(200);
  });
});

// Entra-issued assertions: the managed-identity-as-credential exchange works end to end through the stand-in,
// and every other Entra-issued assertion is refused with its own code (700222, 700226, 700227, 700229, 700236).
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Issuer, v2Issuer } from '../../../sandbox/entra/discovery.js';
import { TOKEN_EXCHANGE_APP_ID } from '../../../sandbox/entra/firstPartyResources.js';
import {
  API_V2,
  CALLER,
  type EntraFixture,
  EXCHANGE_AUD,
  expectRefusal,
  MI,
  MI_TRUSTING_APP,
  OTHER_TENANT,
  OTHER_TENANT_APP,
  startEntraFixture,
  TENANT,
} from './standInFixture.js';

describe('managed identity as an application credential', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  /** A token the stand-in issues to the MI (authenticated by its own external FIC) for `scope`. */
  const miToken = async (scope = `${EXCHANGE_AUD}/.default`): Promise<string> => {
    const res = await fx.token({
      client_id: MI.clientId,
      scope,
      client_assertion: await fx.assertion({ sub: MI.subject }),
    });
    expect(res.status).toBe(200);
    return res.body.access_token;
  };

  /** Signs claims with the stand-in's own key, as if Entra had issued them. */
  const entraSigned = (claims: Record<string, unknown>) => fx.standIn.admin.keys.sign(claims, { x5t: false });

  const miClaims = () => ({
    aud: EXCHANGE_AUD,
    iss: v2Issuer(TENANT.id),
    iat: fx.nowSeconds(),
    nbf: fx.nowSeconds(),
    exp: fx.nowSeconds() + 3600,
    azp: MI.clientId,
    azpacr: '2',
    idtyp: 'app',
    oid: MI.principalId,
    sub: MI.principalId,
    tid: TENANT.id,
    ver: '2.0',
  });

  it('issues the MI a v2 token for api://AzureADTokenExchange with that URI as aud', async () => {
    const claims = decodeJwt(await miToken());

    expect(claims).toMatchObject({
      aud: EXCHANGE_AUD,
      iss: v2Issuer(TENANT.id),
      azp: MI.clientId,
      oid: MI.principalId,
      sub: MI.principalId,
      idtyp: 'app',
      ver: '2.0',
    });
    expect(claims.xms_mirid).toBe(
      `/subscriptions/${MI.subscriptionId}/resourcegroups/rg-broker/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-broker`,
    );
  });

  it('exchanges the MI token for a token of the application whose FIC trusts the MI', async () => {
    const res = await fx.token({ client_id: MI_TRUSTING_APP.appId, client_assertion: await miToken() });

    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(
      res.body.access_token,
      createLocalJWKSet(fx.standIn.admin.keys.jwks()),
      {
        currentDate: new Date(fx.clock.now()),
      },
    );
    expect(payload).toMatchObject({
      aud: API_V2.appId,
      azp: MI_TRUSTING_APP.appId,
      oid: MI_TRUSTING_APP.spId,
    });
  });

  it('treats the token-exchange app id as the same audience as its URI', async () => {
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await entraSigned({ ...miClaims(), aud: TOKEN_EXCHANGE_APP_ID }),
    });

    expect(res.status).toBe(200);
  });

  it('refuses the MI token when a managed identity is the client: 700222', async () => {
    const res = await fx.token({ client_id: MI.clientId, client_assertion: await miToken() });

    expectRefusal(
      res,
      700222,
      'invalid_client',
      401,
      'AAD-issued tokens may not be used for federated identity flows.',
    );
  });

  it.each([
    ['a v1 issuer of the same tenant', v1Issuer(TENANT.id)],
    ['login.windows.net', `https://login.windows.net/${TENANT.id}/v2.0`],
    ['login.microsoft.com', `https://login.microsoft.com/${TENANT.id}/v2.0`],
    [
      'a regional login.microsoftonline.com host',
      `https://westus.login.microsoftonline.com/${TENANT.id}/v2.0`,
    ],
    ['login.microsoftonline.com without a tenant', 'https://login.microsoftonline.com/common/v2.0'],
  ])('refuses an Entra-issued assertion from %s: 700222', async (_name, iss) => {
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await fx.assertion({ iss }),
    });

    expectRefusal(res, 700222, 'invalid_client', 401);
  });

  it('sends an MI token to an app without an Entra FIC to FIC matching: 700211 naming the issuer (as observed)', async () => {
    const res = await fx.token({ client_id: CALLER.appId, client_assertion: await miToken() });

    expectRefusal(res, 700211, 'invalid_client', 401, `presented assertion issuer '${v2Issuer(TENANT.id)}'.`);
  });

  it("refuses another tenant's issuer: 700236 naming the issuer", async () => {
    const res = await fx.token(
      {
        client_id: OTHER_TENANT_APP.appId,
        scope: 'https://graph.microsoft.com/.default',
        client_assertion: await miToken(),
      },
      { tenant: OTHER_TENANT.id },
    );

    expectRefusal(
      res,
      700236,
      'invalid_client',
      401,
      `issued by issuer ${v2Issuer(TENANT.id)} may not be used`,
    );
  });

  it('refuses a token with an Entra issuer not signed by Entra: 700027', async () => {
    const forged = await fx.issuer.sign(miClaims());
    const res = await fx.token({ client_id: MI_TRUSTING_APP.appId, client_assertion: forged });

    expectRefusal(res, 700027, 'invalid_client', 401);
  });

  it('refuses a delegated (user) token: 700229', async () => {
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await entraSigned({ ...miClaims(), idtyp: 'user', scp: 'User.Read' }),
    });

    expectRefusal(res, 700229, 'invalid_client', 401, 'Only app-only tokens may be used');
  });

  it('refuses an app registration token: 700226', async () => {
    const appToken = await fx.token({
      client_id: CALLER.appId,
      scope: `${EXCHANGE_AUD}/.default`,
      client_assertion: await fx.assertion(),
    });
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: appToken.body.access_token,
    });

    expectRefusal(
      res,
      700226,
      'invalid_client',
      401,
      'Only MSI tokens may be used as Federated Identity Credentials for AAD issuer.',
    );
  });

  it('refuses an MI token for another audience: 700227', async () => {
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await miToken(`${API_V2.uri}/.default`),
    });

    expectRefusal(res, 700227, 'invalid_client', 401, 'Forbidden token audience.');
  });

  it('applies the common checks to MI tokens: an expired one is 700024', async () => {
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await entraSigned({
        ...miClaims(),
        iat: fx.nowSeconds() - 7200,
        exp: fx.nowSeconds() - 3600,
      }),
    });

    expectRefusal(res, 700024, 'invalid_client', 401);
  });

  it('refuses an MI token whose subject is not the one the FIC names: 700213', async () => {
    const other = 'd4d4d4d4-0000-4000-8000-0000000000ff';
    const res = await fx.token({
      client_id: MI_TRUSTING_APP.appId,
      client_assertion: await entraSigned({ ...miClaims(), sub: other, oid: MI.principalId }),
    });

    expectRefusal(res, 700213, 'invalid_client', 401);
  });
});

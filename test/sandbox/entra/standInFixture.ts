// Shared set-up for the Entra stand-in token tests: a trusted sandbox CA, two stand-in OIDC issuers served
// over https on loopback (reached through discovery overrides), a seeded directory and an injectable clock.

import { expect } from 'vitest';
import { v2Issuer } from '../../../sandbox/entra/discovery.js';
import type { DirectorySeed } from '../../../sandbox/entra/model.js';
import {
  createEntraStandIn,
  type EntraStandIn,
  type EntraStandInOptions,
} from '../../../sandbox/entra/server.js';
import { createOidcIssuer, type OidcIssuer, startOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import type { RunningServer } from '../../../sandbox/lib/serve.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';

export const TENANT = {
  id: '11111111-1111-4111-8111-111111111111',
  domain: 'contoso.onmicrosoft.com',
  name: 'Contoso',
};
export const OTHER_TENANT = {
  id: '22222222-2222-4222-8222-222222222222',
  domain: 'fabrikam.onmicrosoft.com',
};
/** The real `iss` the test issuer impersonates; its discovery is fetched from loopback through an override. */
export const ISSUER = 'https://issuer.workload.test';
export const GITHUB = 'https://token.actions.githubusercontent.com';
export const EXCHANGE_AUD = 'api://AzureADTokenExchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export const CALLER = {
  appId: 'a1a1a1a1-0000-4000-8000-000000000001',
  spId: 'a1a1a1a1-0000-4000-8000-0000000000f1',
  subject: 'workload-1',
};
export const API_V2 = {
  appId: 'b2b2b2b2-0000-4000-8000-000000000002',
  uri: 'api://broker-api',
  role: 'Things.Read',
};
export const API_V1 = { appId: 'c3c3c3c3-0000-4000-8000-000000000003', uri: 'api://legacy-api' };
export const MI = {
  clientId: 'd4d4d4d4-0000-4000-8000-000000000004',
  principalId: 'd4d4d4d4-0000-4000-8000-0000000000f4',
  subject: 'mi-workload',
  subscriptionId: 'e5e5e5e5-0000-4000-8000-000000000005',
};
export const MI_TRUSTING_APP = {
  appId: 'f6f6f6f6-0000-4000-8000-000000000006',
  spId: 'f6f6f6f6-0000-4000-8000-0000000000f6',
};
export const FLEX_APP = { appId: '0a0a0a0a-0000-4000-8000-00000000000a' };
export const OTHER_TENANT_APP = { appId: '0b0b0b0b-0000-4000-8000-00000000000b' };

const fic = (name: string, issuer: string, subject: string) => ({
  name,
  issuer,
  subject,
  audiences: [EXCHANGE_AUD],
  description: null,
  claimsMatchingExpression: null,
});

export const SEED: DirectorySeed = {
  tenants: [
    {
      id: TENANT.id,
      domains: [TENANT.domain],
      displayName: TENANT.name,
      // The caller app may also manage FICs through Graph (standInComposition.test.ts).
      graphPermissions: { [CALLER.appId]: ['Application.ReadWrite.All'] },
      applications: [
        {
          appId: CALLER.appId,
          servicePrincipalId: CALLER.spId,
          displayName: 'caller',
          federatedIdentityCredentials: [fic('workload', ISSUER, CALLER.subject)],
        },
        {
          appId: API_V2.appId,
          displayName: 'broker-api',
          identifierUris: [API_V2.uri],
          requestedAccessTokenVersion: 2,
          appRoleAssignments: { [CALLER.appId]: [API_V2.role] },
        },
        {
          appId: API_V1.appId,
          displayName: 'legacy-api',
          identifierUris: [API_V1.uri],
          requestedAccessTokenVersion: 1,
        },
        {
          appId: MI_TRUSTING_APP.appId,
          servicePrincipalId: MI_TRUSTING_APP.spId,
          displayName: 'trusts-mi',
          federatedIdentityCredentials: [fic('uami', v2Issuer(TENANT.id), MI.principalId)],
        },
        {
          appId: FLEX_APP.appId,
          displayName: 'flexible',
          federatedIdentityCredentials: [
            {
              name: 'main-branches',
              issuer: GITHUB,
              subject: null,
              audiences: [EXCHANGE_AUD],
              description: null,
              claimsMatchingExpression: {
                value: "claims['sub'] matches 'repo:contoso/*:ref:refs/heads/main'",
                languageVersion: 1,
              },
            },
          ],
        },
      ],
      managedIdentities: [
        {
          subscriptionId: MI.subscriptionId,
          resourceGroup: 'rg-broker',
          name: 'uami-broker',
          clientId: MI.clientId,
          principalId: MI.principalId,
          federatedIdentityCredentials: [fic('workload', ISSUER, MI.subject)],
        },
      ],
    },
    {
      id: OTHER_TENANT.id,
      domains: [OTHER_TENANT.domain],
      displayName: 'Fabrikam',
      applications: [
        {
          appId: OTHER_TENANT_APP.appId,
          displayName: 'trusts-foreign-mi',
          federatedIdentityCredentials: [fic('uami', v2Issuer(TENANT.id), MI.principalId)],
        },
      ],
    },
  ],
};

/** A clock the tests move by hand. */
export interface TestClock {
  now(): number;
  /** Moves the clock forward, seconds. */
  advance(seconds: number): void;
}

export interface TokenResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are asserted field by field
  body: any;
}

export interface EntraFixture {
  ca: CertificateAuthority;
  clock: TestClock;
  issuer: OidcIssuer & { server: RunningServer };
  github: OidcIssuer & { server: RunningServer };
  standIn: EntraStandIn;
  /** Epoch seconds on the test clock. */
  nowSeconds(): number;
  /** Signs an assertion from ISSUER for CALLER (iat now, exp now + 10 min) with the given claims merged over. */
  assertion(claims?: Record<string, unknown>, sign?: Parameters<OidcIssuer['sign']>[1]): Promise<string>;
  /** POSTs a form to the token endpoint; a field set to undefined is left out. */
  token(
    fields: Record<string, string | undefined>,
    options?: { tenant?: string; endpoint?: 'v1' | 'v2' },
  ): Promise<TokenResponse>;
  close(): Promise<void>;
}

/** Starts the issuers and builds the stand-in (in-process; its outbound discovery fetches are real https). */
export async function startEntraFixture(options: EntraStandInOptions = {}): Promise<EntraFixture> {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  const tls = await ca.issue(['localhost', '127.0.0.1']);
  const issuer = await startOidcIssuer({ issuer: ISSUER, tls });
  const github = await startOidcIssuer({ issuer: GITHUB, tls });
  let current = Date.now();
  const clock: TestClock = { now: () => current, advance: (seconds) => (current += seconds * 1000) };
  const standIn = await createEntraStandIn({
    seed: SEED,
    clock,
    discoveryOverrides: { [ISSUER]: issuer.server.url, [GITHUB]: github.server.url },
    ...options,
  });
  const nowSeconds = () => Math.floor(current / 1000);
  return {
    ca,
    clock,
    issuer,
    github,
    standIn,
    nowSeconds,
    assertion: (claims = {}, sign) =>
      issuer.sign(
        {
          iss: ISSUER,
          sub: CALLER.subject,
          aud: EXCHANGE_AUD,
          iat: nowSeconds(),
          exp: nowSeconds() + 600,
          ...claims,
        },
        sign,
      ),
    async token(fields, tokenOptions = {}) {
      const endpoint = tokenOptions.endpoint ?? 'v2';
      const form = new URLSearchParams();
      const defaults: Record<string, string | undefined> = {
        grant_type: 'client_credentials',
        client_id: CALLER.appId,
        ...(endpoint === 'v2' ? { scope: `${API_V2.uri}/.default` } : { resource: API_V1.uri }),
        client_assertion_type: JWT_BEARER,
      };
      for (const [name, value] of Object.entries({ ...defaults, ...fields })) {
        if (value !== undefined) form.set(name, value);
      }
      const path = endpoint === 'v2' ? 'oauth2/v2.0/token' : 'oauth2/token';
      const response = await standIn.app.request(`/${tokenOptions.tenant ?? TENANT.id}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, headers: response.headers, text, body };
    },
    async close() {
      await Promise.all([issuer.server.close(), github.server.close()]);
    },
  };
}

/** Creates an issuer that is not served (for signing forged tokens only). */
export const createUnservedIssuer = (iss: string): Promise<OidcIssuer> => createOidcIssuer({ issuer: iss });

/** Asserts an Entra refusal: HTTP status, `error`, `error_codes`, the `AADSTS<code>: ` prefix, and optionally a piece of the description. */
export const expectRefusal = (
  res: TokenResponse,
  code: number,
  error: string,
  status: number,
  text?: string,
): void => {
  expect({ status: res.status, error: res.body?.error, codes: res.body?.error_codes }).toEqual({
    status,
    error,
    codes: [code],
  });
  expect(res.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  if (text) expect(res.body.error_description).toContain(text);
};

/** The exact Microsoft Graph error body, with `innerError` checked for shape. */
export const graphError = (code: string, message: string) => ({
  error: {
    code,
    message,
    innerError: {
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
      'request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'client-request-id': expect.any(String),
    },
  },
});

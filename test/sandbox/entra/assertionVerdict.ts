// What the "does Entra accept this platform's token?" tests share (cognitoEntraVerdict, spiffe's
// entraVerdict): a running Entra stand-in under its default policy, seeded with one caller app holding a
// role on the v2 API, and the one request that matters: the platform's token as the caller's
// client_assertion for the API's `.default` scope, after the caller app is made to trust exactly it.

import type { DirectorySeed } from '../../../sandbox/entra/model.js';
import { startEntraStandIn } from '../../../sandbox/entra/server.js';
import {
  createCertificateAuthority,
  type PemPair,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';
import { API_V2, CALLER, JWT_BEARER, TENANT } from './standInFixture.js';

export { API_V2, CALLER, TENANT };

/** The federated credential the caller app gets, and where Entra finds the issuer's discovery. */
export interface Trust {
  readonly name: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
  readonly discoveryUrl: string;
}

export interface VerdictEntra {
  /** A certificate for loopback from the CA the process trusts, for the platform's stand-ins. */
  readonly tls: PemPair;
  /** Adds `trust` to the caller app and presents `assertion`; Entra's status and JSON answer. */
  present(
    trust: Trust,
    assertion: string,
  ): Promise<{ status: number; body: Record<string, unknown> & { error_codes?: number[] } }>;
  close(): Promise<void>;
}

export async function startVerdictEntra(callerName: string): Promise<VerdictEntra> {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  const tls = await ca.issue(['localhost', '127.0.0.1']);
  const seed: DirectorySeed = {
    tenants: [
      {
        id: TENANT.id,
        domains: [TENANT.domain],
        applications: [
          { appId: CALLER.appId, servicePrincipalId: CALLER.spId, displayName: callerName },
          {
            appId: API_V2.appId,
            displayName: 'broker-api',
            identifierUris: [API_V2.uri],
            requestedAccessTokenVersion: 2,
            appRoleAssignments: { [CALLER.appId]: [API_V2.role] },
          },
        ],
      },
    ],
  };
  const entra = await startEntraStandIn({ tls, seed });
  return {
    tls,
    async present(trust, assertion) {
      const app = entra.directory.findApplicationByAppId(CALLER.appId);
      const created = entra.directory.createFic(
        { kind: 'application', objectId: app?.id ?? '' },
        { name: trust.name, issuer: trust.issuer, subject: trust.subject, audiences: [trust.audience] },
      );
      if (!created.ok) throw new Error(`the federated credential ${trust.name} was not created`);
      // Each case has its own keys: Entra fetches this issuer's discovery, never a cached JWKS.
      entra.admin.resolver.clear();
      entra.admin.resolver.setDiscoveryOverride(trust.issuer, trust.discoveryUrl);
      const response = await fetch(`${entra.url}/${TENANT.id}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: CALLER.appId,
          scope: `${API_V2.uri}/.default`,
          client_assertion_type: JWT_BEARER,
          client_assertion: assertion,
        }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    close: () => entra.close(),
  };
}

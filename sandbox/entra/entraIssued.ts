// Entra-issued assertions: refused (700222) except the documented managed-identity-as-credential case, a
// v2 app-only token of a user-assigned MI of the same tenant for api://AzureADTokenExchange presented to
// an application (protocols.md §A.5, §A.6; E3, E10; R-arsenvlad for 700226/700227/700229/700236).
import { compactVerify, createLocalJWKSet } from 'jose';
import type { DecodedAssertion, Refusal } from './assertion.js';
import { TOKEN_EXCHANGE_APP_ID } from './firstPartyResources.js';
import type { Client, DirectoryReader } from './model.js';
import type { EntraKeySet } from './signingKeys.js';

/** The audience a managed identity's token must carry to serve as an app's credential (public cloud). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** Both spellings of the token-exchange audience: the App ID URI and its app id (real MI tokens carry the GUID). */
export const TOKEN_EXCHANGE_AUDIENCES: readonly string[] = [TOKEN_EXCHANGE_AUDIENCE, TOKEN_EXCHANGE_APP_ID];

const ENTRA_HOSTS = [
  'login.microsoftonline.com',
  'sts.windows.net',
  'login.windows.net',
  'login.microsoft.com',
];

/** True for an issuer on an Entra host or a subdomain of one (e.g. `westus.login.microsoft.com`). */
export function isEntraIssuer(iss: string): boolean {
  let host: string;
  try {
    host = new URL(iss.trim()).hostname.toLowerCase();
  } catch {
    return false;
  }
  return ENTRA_HOSTS.some((entra) => host === entra || host.endsWith(`.${entra}`));
}

const V2_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([0-9a-f-]{36})\/v2\.0$/;

export interface EntraIssuedContext {
  raw: string;
  assertion: DecodedAssertion;
  /** The client authenticating at the token endpoint. */
  client: Client;
  /** GUID of the tenant the request was sent to. */
  tenantId: string;
  directory: DirectoryReader;
  keys: EntraKeySet;
}

/**
 * Applies the Entra-issuer rules, in this order: the client is a managed identity (only applications may
 * trust an MI) or the issuer is not the v2 form `https://login.microsoftonline.com/{tid}/v2.0` → 700222;
 * another tenant's issuer → 700236; signature not made by this stand-in's keys → `signatureFailureCode`;
 * not an app-only token (`idtyp` ≠ `app`) → 700229; not a user-assigned MI of this tenant → 700226;
 * audience not the token-exchange audience → 700227. Returns undefined when the assertion may go on to
 * the lifetime and FIC checks.
 */
export async function checkEntraIssuedAssertion(
  context: EntraIssuedContext,
  signatureFailureCode: 700027 | 50027,
): Promise<Refusal | undefined> {
  const { assertion, client } = context;
  const issuerTenant = V2_ISSUER.exec(assertion.iss)?.[1];
  if (client.kind !== 'application' || issuerTenant === undefined) return { code: 700222 };
  if (issuerTenant !== context.tenantId.toLowerCase())
    return { code: 700236, params: { issuer: assertion.iss } };

  try {
    await compactVerify(context.raw, createLocalJWKSet(context.keys.verificationKeys()), {
      algorithms: ['RS256'],
    });
  } catch {
    return signatureFailureCode === 700027
      ? { code: 700027, params: { reason: 'The signature is invalid.' } }
      : { code: 50027 };
  }

  const claims = assertion.claims;
  if (claims.idtyp !== 'app') return { code: 700229 };
  const azp = typeof claims.azp === 'string' ? claims.azp : '';
  const caller = context.directory.findClient(context.tenantId, azp);
  if (caller?.kind !== 'managedIdentity' || caller.principalId !== claims.oid) return { code: 700226 };
  if (!assertion.aud.some((aud) => TOKEN_EXCHANGE_AUDIENCES.includes(aud))) return { code: 700227 };
  return undefined;
}

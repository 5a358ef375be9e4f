// Azure Resource Manager wire format for managed-identity FICs: api-versions, error table, body parsing, shapes.
import type { Context } from 'hono';
import { z } from 'zod';
import type { FicError, FicErrorCode, FicInput } from './ficValidation.js';
import { ARM_AUDIENCES, type ManagementAuthFailure } from './managementAuth.js';
import type { FederatedIdentityCredential, ManagedIdentity } from './model.js';

/** api-versions of Microsoft.ManagedIdentity that carry federatedIdentityCredentials (protocols.md §A.8). */
export const ARM_API_VERSIONS = [
  '2022-01-31-preview',
  '2023-01-31',
  '2024-11-30',
  '2025-05-31-preview',
] as const;
// claimsMatchingExpression arrived in the 2025 previews; older versions know only issuer/subject/audiences.
const EXPRESSION_API_VERSIONS: readonly string[] = ['2025-05-31-preview'];

/** The type of a FIC under a user-assigned identity. */
export const ARM_FIC_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials';
/**
 * Location reported for every identity: model.ts has no location field, and nothing in the broker
 * depends on it, so the stand-in reports one fixed region.
 */
export const ARM_LOCATION = 'westeurope';

/** An ARM error before it is put on the wire. */
export interface ArmFailure {
  status: 400 | 401 | 404 | 405;
  code: string;
  message: string;
}

/** Where an error happened, for ARM's resource-naming messages. */
export interface ArmScope {
  resourceGroup: string;
  identity: string;
}

const MUST_SPECIFY =
  "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.";
const badRequest = (message: string) => () => ({ status: 400 as const, code: 'BadRequest', message });
const tooLong = (field: string) =>
  badRequest(`The ${field} of a federated identity credential must be at most 600 characters.`);
const notFound = (resource: string, scope: ArmScope): ArmFailure => ({
  status: 404,
  code: 'ResourceNotFound',
  message: `The Resource '${resource}' under resource group '${scope.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
});

/**
 * Every directory error as ARM answers it for a user-assigned identity. Quoted where documented or
 * observed: "exactly 1 audience" (Azure/azure-cli#31598), "must specify 'issuer', 'subject' and
 * 'audience'" (zioproto/istio-aks-example#6), the name rule (Azure/azure-dev#5948), the issuer/subject
 * clash (§A.8); the rest are the stand-in's own wording. Name clash and rename cannot happen over ARM
 * (PUT by name replaces) and map to the generic 400.
 */
export const ARM_ERRORS: Readonly<Record<FicErrorCode, (error: FicError, scope: ArmScope) => ArmFailure>> = {
  owner_not_found: (_e, scope) =>
    notFound(`Microsoft.ManagedIdentity/userAssignedIdentities/${scope.identity}`, scope),
  fic_not_found: (e, scope) =>
    notFound(
      `Microsoft.ManagedIdentity/userAssignedIdentities/${scope.identity}/federatedIdentityCredentials/${e.value ?? ''}`,
      scope,
    ),
  name_invalid: badRequest(
    'The name of a federated identity credentials must be within 3 and 120 characters, only contains letters (A-Z, a-z), numbers, hyphens and dashes and must start with a number or letter.',
  ),
  name_immutable: badRequest('The name of a federated identity credential cannot be changed.'),
  name_conflict: badRequest('A federated identity credential with this name already exists.'),
  issuer_required: badRequest(MUST_SPECIFY),
  issuer_too_long: tooLong('issuer'),
  subject_required: badRequest(MUST_SPECIFY),
  subject_too_long: tooLong('subject'),
  subject_and_expression: badRequest(
    "Either 'subject' or 'claimsMatchingExpression' must be defined, but not both.",
  ),
  audiences_required: badRequest(MUST_SPECIFY),
  audiences_count: () => ({
    status: 400,
    code: 'InvalidFederatedIdentityCredentialsAudienceLength',
    message: 'Federated identity credentials must have exactly 1 audience.',
  }),
  audience_too_long: tooLong('audience'),
  description_too_long: tooLong('description'),
  issuer_subject_conflict: badRequest(
    'Issuer and subject combination already exists for this Managed Identity.',
  ),
  limit_reached: badRequest(
    'Too many Federated Identity Credentials are written to this Managed Identity. The limit is 20.',
  ),
  expression_unsupported_owner: badRequest(
    'Claims matching expressions are not supported on user-assigned managed identities.',
  ),
  expression_language_version: badRequest("The 'languageVersion' of claimsMatchingExpression must be 1."),
  expression_invalid: (e) => badRequest(`The ${e.message}.`)(),
  expression_not_allowed: (e) => badRequest(`The claimsMatchingExpression is not allowed: ${e.message}.`)(),
};

/** Maps a directory error to its ARM failure. */
export function armFailure(error: FicError, scope: ArmScope): ArmFailure {
  return ARM_ERRORS[error.code](error, scope);
}

const INVALID_TOKEN: ArmFailure = {
  status: 401,
  code: 'InvalidAuthenticationToken',
  message: 'The access token is invalid.',
};

/**
 * ARM's 401 for each authentication failure. Observed: no header → AuthenticationFailed "Authentication
 * failed. The 'Authorization' header is missing." (on Microsoft.ManagedIdentity itself,
 * hashicorp/terraform-provider-azurerm#3612; Azure/azure-sdk-for-net#4103); a header not in Bearer form →
 * AuthenticationFailedInvalidHeader (Azure/azure-sdk-for-python#4124); expired →
 * ExpiredAuthenticationToken with .NET's en-US UTC times (microsoft/foundry-dev-tools#461; its status 401
 * is UNCONFIRMED); wrong audience → InvalidAuthenticationTokenAudience listing the four accepted audiences
 * (JetBrains/azure-tools-for-intellij#16, status 401). "The access token is invalid." is observed
 * (Azure/azure-powershell#27882) and documented with InvalidAuthenticationToken by Azure Monitor (which
 * answers it with 403 on its own endpoint); its status 401 on ARM, and using it for a malformed token, a
 * forged signature, a wrong issuer and a token not yet valid, are UNCONFIRMED.
 */
export function armAuthFailure(failure: ManagementAuthFailure): ArmFailure {
  switch (failure.reason) {
    case 'missing':
      return {
        status: 401,
        code: 'AuthenticationFailed',
        message: "Authentication failed. The 'Authorization' header is missing.",
      };
    case 'not_bearer':
      return {
        status: 401,
        code: 'AuthenticationFailedInvalidHeader',
        message: "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      };
    case 'no_dots':
    case 'invalid':
    case 'not_yet_valid':
      return INVALID_TOKEN;
    case 'expired':
      return {
        status: 401,
        code: 'ExpiredAuthenticationToken',
        message: `The access token expiry UTC time '${dotNetUtc(failure.expiresAt)}' is earlier than current UTC time '${dotNetUtc(failure.now)}'.`,
      };
    case 'audience': {
      const allowed = ARM_AUDIENCES.filter((aud) => aud.startsWith('https://'))
        .map((aud) => `'${aud}'`)
        .join(',');
      return {
        status: 401,
        code: 'InvalidAuthenticationTokenAudience',
        message: `The access token has been obtained for wrong audience or resource '${failure.audience}'. It should exactly match with one of the allowed audiences ${allowed}.`,
      };
    }
  }
}

/**
 * ARM's 401 for a token of another tenant than the subscription's (observed verbatim:
 * Azure/azure-sdk-for-python#38382, bradygaster-zz/azure-tools-vscode#44; 401 per
 * Azure/azure-sdk-for-net#49391).
 */
export function armWrongTenant(tokenIssuer: string, subscriptionTenantId: string): ArmFailure {
  return {
    status: 401,
    code: 'InvalidAuthenticationTokenTenant',
    message: `The access token is from the wrong issuer '${tokenIssuer}'. It must match the tenant 'https://sts.windows.net/${subscriptionTenantId}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${subscriptionTenantId}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
  };
}

/** Epoch seconds as .NET's en-US `DateTime.ToString()` in UTC: `6/15/2026 8:22:51 AM`. */
export function dotNetUtc(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const hours = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${hours % 12 === 0 ? 12 : hours % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${clock} ${hours < 12 ? 'AM' : 'PM'}`;
}

/** Writes ARM's error body `{ error: { code, message } }`. */
export function sendArmError(c: Context, failure: ArmFailure): Response {
  return c.json({ error: { code: failure.code, message: failure.message } }, failure.status);
}

/** Checks the api-version query parameter that ARM requires on every request. */
export function checkApiVersion(value: string | undefined): ArmFailure | undefined {
  if (value === undefined || value === '') {
    return {
      status: 400,
      code: 'MissingApiVersionParameter',
      message: 'The api-version query parameter (?api-version=) is required for all requests.',
    };
  }
  if ((ARM_API_VERSIONS as readonly string[]).includes(value)) return undefined;
  return {
    status: 400,
    code: 'InvalidApiVersionParameter',
    message: `The api-version '${value}' is invalid. The supported versions are '${ARM_API_VERSIONS.join(',')}'.`,
  };
}

// ARM ignores properties it does not know, so these objects are not strict.
const bodySchema = z.object({
  properties: z
    .object({
      issuer: z.string().optional(),
      subject: z.string().nullable().optional(),
      audiences: z.array(z.string()).optional(),
      claimsMatchingExpression: z
        .object({ value: z.string(), languageVersion: z.number() })
        .nullable()
        .optional(),
    })
    .optional(),
});

/** Parses a PUT body; an absent or empty `properties` is the documented "must specify" 400 (§A.8). */
export function parseArmFicBody(
  text: string,
  apiVersion: string,
): { ok: true; input: FicInput } | ArmFailure {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return invalidContent('the body is not valid JSON');
  }
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') ?? '';
    return invalidContent(`unexpected value at '${path}'`);
  }
  const properties = parsed.data.properties;
  if (!properties || Object.keys(properties).length === 0)
    return { status: 400, code: 'BadRequest', message: MUST_SPECIFY };
  const { claimsMatchingExpression, ...rest } = properties;
  const withExpression = EXPRESSION_API_VERSIONS.includes(apiVersion)
    ? { ...rest, claimsMatchingExpression }
    : rest;
  return { ok: true, input: withExpression };
}

function invalidContent(detail: string): ArmFailure {
  return {
    status: 400,
    code: 'InvalidRequestContent',
    message: `The request content was invalid and could not be deserialized: ${detail}.`,
  };
}

/** ARM id of an identity; built from the stored names, so the casing is canonical whatever the URL used. */
export function identityId(identity: ManagedIdentity): string {
  return `/subscriptions/${identity.subscriptionId}/resourceGroups/${identity.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.name}`;
}

/** The identity resource as ARM returns it. */
export function toArmIdentity(identity: ManagedIdentity): Record<string, unknown> {
  return {
    id: identityId(identity),
    name: identity.name,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: ARM_LOCATION,
    tags: {},
    properties: {
      tenantId: identity.tenantId,
      principalId: identity.principalId,
      clientId: identity.clientId,
    },
  };
}

/** A FIC as ARM returns it; claimsMatchingExpression appears only when set. */
export function toArmFic(
  identity: ManagedIdentity,
  fic: FederatedIdentityCredential,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    issuer: fic.issuer,
    subject: fic.subject,
    audiences: fic.audiences,
  };
  if (fic.claimsMatchingExpression) properties.claimsMatchingExpression = fic.claimsMatchingExpression;
  return {
    id: `${identityId(identity)}/federatedIdentityCredentials/${fic.name}`,
    name: fic.name,
    type: ARM_FIC_TYPE,
    properties,
  };
}

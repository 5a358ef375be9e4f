// Microsoft Graph wire format for FICs: error table and error body, request-body parsing, and serialization.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import type { FicError, FicErrorCode, FicInput } from './ficValidation.js';
import type { ManagementAuthFailure } from './managementAuth.js';
import type { FederatedIdentityCredential } from './model.js';

/** The Graph versions served; claimsMatchingExpression exists only in beta (protocols.md §A.7). */
export type GraphVersion = 'v1.0' | 'beta';

/** A Graph error before it is put on the wire. */
export interface GraphFailure {
  status: 400 | 401 | 403 | 404 | 405 | 409;
  code: string;
  message: string;
}

const OBJECT_TYPE = 'Microsoft.Online.DirectoryServices.Application';
const invalidValue = (property: string): string =>
  `Invalid value specified for property '${property}' of resource 'FederatedIdentityCredential'.`;
const badRequest = (
  message: string,
): Omit<GraphFailure, 'message'> & { message: (e: FicError) => string } => ({
  status: 400,
  code: 'Request_BadRequest',
  message: () => message,
});
const invalidFic = (message: (e: FicError) => string) => ({
  status: 400 as const,
  code: 'InvalidFederatedIdentityCredentialValue',
  message,
});
const missing = (e: FicError): string =>
  `Resource '${e.value ?? ''}' does not exist or one of its queried reference-property objects are not present.`;

/**
 * Every directory error as Graph answers it. Codes and messages quoted from real responses where they
 * were seen (409 name clash, issuer/subject clash, invalid name: Azure/azure-dev#1482, #2505,
 * Azure/azure-workload-identity#434); the others follow Graph's usual wording and are the stand-in's own.
 */
export const GRAPH_ERRORS: Readonly<
  Record<FicErrorCode, { status: GraphFailure['status']; code: string; message: (e: FicError) => string }>
> = {
  owner_not_found: { status: 404, code: 'Request_ResourceNotFound', message: missing },
  fic_not_found: { status: 404, code: 'Request_ResourceNotFound', message: missing },
  name_invalid: invalidFic(
    (e) =>
      `The specified Name value is not a valid URI last segment. paramName: FederatedIdentityCredential.Name, paramValue: ${e.value ?? ''}, objectType: ${OBJECT_TYPE}`,
  ),
  name_immutable: badRequest("Property 'name' is immutable and cannot be changed once set."),
  name_conflict: {
    status: 409,
    code: 'Request_MultipleObjectsWithSameKeyValue',
    message: (e) => `FederatedIdentityCredential with name ${e.value ?? ''} already exists.`,
  },
  issuer_required: badRequest(invalidValue('issuer')),
  issuer_too_long: badRequest(invalidValue('issuer')),
  subject_required: badRequest(invalidValue('subject')),
  subject_too_long: badRequest(invalidValue('subject')),
  subject_and_expression: invalidFic(
    () =>
      "Only one of 'subject' and 'claimsMatchingExpression' can be set on a federated identity credential.",
  ),
  audiences_required: badRequest(invalidValue('audiences')),
  audiences_count: invalidFic(() => "The 'audiences' collection must contain exactly one value."),
  audience_too_long: badRequest(invalidValue('audiences')),
  description_too_long: badRequest(invalidValue('description')),
  issuer_subject_conflict: invalidFic(
    (e) =>
      `The combination of issuer and subject must be unique for the application. Issuer ${e.issuer ?? ''} and Subject: ${e.value ?? ''} already exist. paramName: FederatedIdentityCredential.Subject, paramValue: ${e.value ?? ''}, objectType: ${OBJECT_TYPE}`,
  ),
  limit_reached: badRequest(
    'Maximum number of federated identity credentials (20) reached for this application.',
  ),
  expression_unsupported_owner: invalidFic((e) => e.message),
  expression_language_version: invalidFic(
    () => "The 'languageVersion' of claimsMatchingExpression must be 1.",
  ),
  expression_invalid: invalidFic((e) => `The ${e.message}.`),
  expression_not_allowed: invalidFic((e) => `The claimsMatchingExpression is not allowed: ${e.message}.`),
};

/** Maps a directory error to its Graph failure. */
export function graphFailure(error: FicError): GraphFailure {
  const entry = GRAPH_ERRORS[error.code];
  return { status: entry.status, code: entry.code, message: entry.message(error) };
}

/** Writes Graph's error body `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`. */
export function sendGraphError(c: Context, failure: GraphFailure): Response {
  const requestId = randomUUID();
  const clientRequestId = c.req.header('client-request-id') ?? requestId;
  c.header('request-id', requestId);
  c.header('client-request-id', clientRequestId);
  const date = new Date().toISOString().slice(0, 19);
  const innerError = { date, 'request-id': requestId, 'client-request-id': clientRequestId };
  return c.json({ error: { code: failure.code, message: failure.message, innerError } }, failure.status);
}

const expressionSchema = z.strictObject({
  '@odata.type': z.string().optional(),
  value: z.string(),
  languageVersion: z.number(),
});
const betaSchema = z.strictObject({
  '@odata.type': z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  issuer: z.string().optional(),
  subject: z.string().nullable().optional(),
  audiences: z.array(z.string()).optional(),
  description: z.string().nullable().optional(),
  claimsMatchingExpression: expressionSchema.nullable().optional(),
});
// Graph v1.0 does not expose claimsMatchingExpression, so there it is an unknown property like any other.
const v1Schema = betaSchema.omit({ claimsMatchingExpression: true });

/** Parses a FIC request body for a Graph version; unknown properties are refused as OData refuses them. */
export function parseGraphFicBody(
  raw: unknown,
  version: GraphVersion,
): { ok: true; input: FicInput } | GraphFailure {
  const result = (version === 'beta' ? betaSchema : v1Schema).safeParse(raw);
  if (result.success) {
    const { '@odata.type': _type, id: _id, ...input } = result.data;
    return { ok: true, input };
  }
  const unknownKey = result.error.issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknownKey && unknownKey.code === 'unrecognized_keys') {
    const type = unknownKey.path.length > 0 ? 'federatedIdentityExpression' : 'federatedIdentityCredential';
    return {
      status: 400,
      code: 'BadRequest',
      message: `The property '${unknownKey.keys[0] ?? ''}' does not exist on type 'microsoft.graph.${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return UNREADABLE_BODY;
  const property = String(result.error.issues[0]?.path[0] ?? 'body');
  return { status: 400, code: 'Request_BadRequest', message: invalidValue(property) };
}

/** Graph's answer to a body that is not a JSON object. */
export const UNREADABLE_BODY: GraphFailure = {
  status: 400,
  code: 'BadRequest',
  message:
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
};

const INVALID_TOKEN = (message: string): GraphFailure => ({
  status: 401,
  code: 'InvalidAuthenticationToken',
  message,
});

/**
 * Graph's 401 for each authentication failure, all `InvalidAuthenticationToken`. Observed messages: no
 * token "Access token is empty." (microsoftgraph/msgraph-sample-reactspa#54,
 * microsoftgraph/msgraph-sdk-powershell#2731); no dots: IdentityModel's IDX14100 text
 * (MaikuB/flutter_appauth#575); expired "Lifetime validation failed, the token is expired."
 * (s1t5/mail-archiver#267, AzureAD/microsoft-identity-web#3106); not yet valid "Access token has expired or
 * is not yet valid." (an older wording, microsofthackathons/tdi#24, with status 401); wrong audience
 * "Access token validation failure. Invalid audience." (microsoftgraph/microsoft-graph-docs#16208).
 * UNCONFIRMED: a non-Bearer header answered like a missing token, and a bad signature, issuer or claims
 * answered with the generic "Access token validation failure." (observed for a token of another resource,
 * microsoftgraph/console-java-connect-sample#1; Graph's exact text for a forged signature is not known).
 */
export function graphAuthFailure(failure: ManagementAuthFailure): GraphFailure {
  switch (failure.reason) {
    case 'missing':
    case 'not_bearer':
      return INVALID_TOKEN('Access token is empty.');
    case 'no_dots':
      return INVALID_TOKEN(
        "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EncodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
      );
    case 'invalid':
      return INVALID_TOKEN('Access token validation failure.');
    case 'expired':
      return INVALID_TOKEN('Lifetime validation failed, the token is expired.');
    case 'not_yet_valid':
      return INVALID_TOKEN('Access token has expired or is not yet valid.');
    case 'audience':
      return INVALID_TOKEN('Access token validation failure. Invalid audience.');
  }
}

/**
 * Graph's `WWW-Authenticate` on a 401, as observed on graph.microsoft.com (microsofthackathons/tdi#24). The
 * authorization_uri names the real authority, not the stand-in: clients do not follow it.
 */
export const GRAPH_WWW_AUTHENTICATE = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`;

/**
 * Graph's 403 when the token's roles do not allow the operation (microsoftgraph/python-sample-auth#12,
 * Azure-Samples/ms-identity-python-daemon#8, both from graph.microsoft.com).
 */
export const GRAPH_FORBIDDEN: GraphFailure = {
  status: 403,
  code: 'Authorization_RequestDenied',
  message: 'Insufficient privileges to complete the operation.',
};

/** A FIC as Graph returns it; v1.0 leaves out the beta-only claimsMatchingExpression. */
export function toGraphFic(fic: FederatedIdentityCredential, version: GraphVersion): Record<string, unknown> {
  const { id, name, issuer, subject, description, audiences, claimsMatchingExpression } = fic;
  const base = { id, name, issuer, subject, description, audiences };
  return version === 'beta' ? { ...base, claimsMatchingExpression } : base;
}

// The AADSTS catalogue: every error code the Entra stand-in emits, with Entra's `error`, HTTP status and
// message text (protocols.md §A.4, §A.5), and the function that renders Entra's error body exactly.

/** `error` values Entra's token, discovery and instance-discovery endpoints return (protocols.md §A.4). */
export type EntraErrorValue =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_resource'
  | 'invalid_tenant'
  | 'invalid_instance'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable';

/** One catalogue row. `{name}` in the template is replaced by the parameter of that name. */
export interface AadstsEntry {
  error: EntraErrorValue;
  /** HTTP status. */
  status: number;
  template: string;
  /** True where protocols.md marks the status or `error` as unconfirmed: override with `aadstsOverrides`. */
  unconfirmed?: true;
}

const WIF_DOC =
  'https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation';
const WIF_DOC_NEW = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
const CHECK_FIC =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.';
const OIDC_FAILED = 'Request to External OIDC endpoint failed.';

/**
 * The catalogue. Texts are the observed ones quoted in protocols.md §A.5 where one exists; statuses follow
 * §A.4 (`invalid_client` → 401, the rest → 400) where §A.5 leaves them open, and such rows are `unconfirmed`.
 */
export const AADSTS = {
  900144: {
    error: 'invalid_request',
    status: 400,
    template: "The request body must contain the following parameter: '{name}'.",
  },
  7000218: {
    error: 'invalid_client',
    status: 401,
    template: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  // The stand-in holds no secrets, so every secret is an invalid one (observed 401, §A.4).
  7000215: {
    error: 'invalid_client',
    status: 401,
    template:
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{clientId}'.",
  },
  70003: {
    error: 'unsupported_grant_type',
    status: 400,
    template: "The app requested an unsupported grant type '{grantType}'.",
  },
  // Observed (2016) for a wrong client_assertion_type; no newer text was found.
  90011: {
    error: 'invalid_request',
    status: 400,
    template: 'Unexpected client assertion type.',
    unconfirmed: true,
  },
  90002: {
    error: 'invalid_request',
    status: 400,
    template:
      "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
  },
  9001023: {
    error: 'invalid_request',
    status: 400,
    template:
      'The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.',
    unconfirmed: true,
  },
  901002: {
    error: 'invalid_request',
    status: 400,
    template: "The 'resource' request parameter is not supported.",
  },
  900561: {
    error: 'invalid_request',
    status: 400,
    template: 'The endpoint only accepts {validVerbs} requests. Received a {verb} request.',
  },
  700016: {
    error: 'unauthorized_client',
    status: 400,
    template:
      "Application with identifier '{clientId}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
  },
  700022: {
    error: 'invalid_scope',
    status: 400,
    template:
      'The provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid.',
    unconfirmed: true,
  },
  1002012: {
    error: 'invalid_scope',
    status: 400,
    template:
      'The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
  },
  500011: {
    error: 'invalid_resource',
    status: 400,
    template:
      'The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.',
  },
  50027: { error: 'invalid_request', status: 400, template: 'JWT token is invalid or malformed.' },
  5002727: {
    error: 'invalid_request',
    status: 400,
    template: "Invalid JWT header type specified, must be 'JWT' or 'http://openid.net/specs/jwt/1.0'.",
  },
  5002730: {
    error: 'invalid_request',
    status: 400,
    template: 'Invalid JWT token. Unsupported key for the signing algorithm.',
    unconfirmed: true,
  },
  5002723: {
    error: 'invalid_client',
    status: 401,
    template:
      'Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.',
    unconfirmed: true,
  },
  // Observed as invalid_request/400 in 2022 (MicrosoftDocs/azure-docs#86916) and invalid_client in 2023
  // (Azure/azure-sdk-for-python#32124); the newer observation is the default.
  70023: {
    error: 'invalid_client',
    status: 401,
    template:
      'External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at {iat}. Token expires on {exp}.',
    unconfirmed: true,
  },
  700024: {
    error: 'invalid_client',
    status: 401,
    template:
      'Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, expiry time of assertion {exp}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
    unconfirmed: true,
  },
  700222: {
    error: 'invalid_client',
    status: 401,
    template: 'AAD-issued tokens may not be used for federated identity flows.',
    unconfirmed: true,
  },
  700226: {
    error: 'invalid_client',
    status: 401,
    template: 'Only MSI tokens may be used as Federated Identity Credentials for AAD issuer.',
    unconfirmed: true,
  },
  700227: { error: 'invalid_client', status: 401, template: 'Forbidden token audience.', unconfirmed: true },
  700229: {
    error: 'invalid_client',
    status: 401,
    template:
      'Forbidden token type. Only app-only tokens may be used as Federated Identity Credentials for AAD issuer.',
    unconfirmed: true,
  },
  700236: {
    error: 'invalid_client',
    status: 401,
    template:
      'Entra ID tokens issued by issuer {issuer} may not be used for federated identity credential flows for applications or managed identities registered in this tenant.',
    unconfirmed: true,
  },
  70021: {
    error: 'invalid_request',
    status: 400,
    template: `No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. ${WIF_DOC}`,
  },
  700211: {
    error: 'invalid_client',
    status: 401,
    template: `No matching federated identity record found for presented assertion issuer '{issuer}'. ${CHECK_FIC} ${WIF_DOC}`,
  },
  700212: {
    error: 'invalid_client',
    status: 401,
    template: `No matching federated identity record found for presented assertion audience '{audience}'. ${CHECK_FIC} ${WIF_DOC}`,
    unconfirmed: true,
  },
  700213: {
    error: 'invalid_client',
    status: 401,
    template: `No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WIF_DOC_NEW}`,
    unconfirmed: true,
  },
  7002138: {
    error: 'invalid_client',
    status: 401,
    template: `No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WIF_DOC_NEW}`,
    unconfirmed: true,
  },
  // The "external OIDC endpoint" family: the number changed over time (§A.5); which one is emitted is configurable.
  501661: { error: 'invalid_request', status: 400, template: OIDC_FAILED },
  50166: { error: 'invalid_request', status: 400, template: OIDC_FAILED },
  90061: { error: 'invalid_request', status: 400, template: OIDC_FAILED },
  700027: {
    error: 'invalid_client',
    status: 401,
    template: 'Client assertion failed signature validation. [Reason - {reason}]',
    unconfirmed: true,
  },
  // MSAL instance discovery for an authority host the stand-in does not serve (E2: NoSuchInstanceForDiscovery).
  50049: { error: 'invalid_instance', status: 400, template: 'Unknown or invalid instance.' },
  // Fault injection only: a 5xx outage and a JSON-bodied 429 (§A.5 "retryable transient errors", 90055).
  90006: {
    error: 'temporarily_unavailable',
    status: 503,
    template: 'The service is temporarily unavailable.',
    unconfirmed: true,
  },
  90055: {
    error: 'temporarily_unavailable',
    status: 429,
    template: 'There are too many incoming requests. This exception is thrown for blocked tenants.',
    unconfirmed: true,
  },
} as const satisfies Record<number, AadstsEntry>;

/** A code the stand-in emits. */
export type AadstsCode = keyof typeof AADSTS;

/** Per-code replacement of `error` and/or status, for the rows protocols.md leaves unconfirmed. */
export type AadstsOverrides = Partial<Record<AadstsCode, Partial<Pick<AadstsEntry, 'error' | 'status'>>>>;

/** Entra's error body (protocols.md §A.4). */
export interface EntraErrorBody {
  error: EntraErrorValue;
  error_description: string;
  error_codes: [number];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

export interface EntraErrorContext {
  traceId: string;
  correlationId: string;
  /** Current time, epoch milliseconds. */
  now: number;
  /** What separates the message from `Trace ID:` and the trailer lines: a space (newer) or CRLF (older). */
  separator?: ' ' | '\r\n';
  overrides?: AadstsOverrides;
  /** Replaces the catalogue `error` for this one response (90002 is `invalid_tenant` on discovery). */
  error?: EntraErrorValue;
}

export interface EntraErrorResult {
  status: number;
  body: EntraErrorBody;
}

/** Formats epoch milliseconds as Entra's `yyyy-mm-dd hh:mm:ssZ`. */
export function entraTimestamp(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Formats epoch milliseconds as .NET's round-trip form with seven fractional digits (700024's times). */
export function dotnetIsoTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 23)}0000Z`;
}

/** The message of `code` with its parameters filled in; a missing parameter stays visible as `{name}`. */
export function aadstsMessage(
  code: AadstsCode,
  params: Readonly<Record<string, string | number>> = {},
): string {
  return AADSTS[code].template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}

/**
 * Builds Entra's error response for `code`. The caller must never pass a token or assertion as a parameter:
 * the description is returned to the client and recorded in the stand-in's decision log.
 */
export function entraError(
  code: AadstsCode,
  params: Readonly<Record<string, string | number>>,
  context: EntraErrorContext,
): EntraErrorResult {
  const entry: AadstsEntry = { ...AADSTS[code], ...context.overrides?.[code] };
  const timestamp = entraTimestamp(context.now);
  const sep = context.separator ?? ' ';
  const description =
    `AADSTS${code}: ${aadstsMessage(code, params)}${sep}Trace ID: ${context.traceId}` +
    `${sep}Correlation ID: ${context.correlationId}${sep}Timestamp: ${timestamp}`;
  return {
    status: entry.status,
    body: {
      error: context.error ?? entry.error,
      error_description: description,
      error_codes: [code],
      timestamp,
      trace_id: context.traceId,
      correlation_id: context.correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

// The value schemas of configuration (config.ts reads the environment with them): numbers, https URLs
// and origins, comma lists, and the JSON lists of caller issuers each caller kind needs.
import { z } from 'zod';

export const positiveInteger = z.coerce
  .number({ error: 'must be a whole number' })
  .int('must be a whole number');
export const positive = (fallback: number) => positiveInteger.positive('must be positive').default(fallback);
export const required = (what: string) =>
  z.string({ error: `is required: ${what}` }).min(1, `is required: ${what}`);

export const httpsUrl = z
  .string()
  .url()
  .refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', 'must be an https URL')
  .refine((value) => {
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  }, 'must carry no query, fragment or credentials');

// STS's global endpoint and the regional endpoints of the commercial regions most deployments use
// (protocols.md §C.4); AWS_STS_ENDPOINTS replaces the list, e.g. to add a region or a FIPS endpoint.
export const DEFAULT_STS_ENDPOINTS = [
  'https://sts.amazonaws.com',
  ...[
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
    'ca-central-1',
    'sa-east-1',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'eu-central-1',
    'eu-north-1',
    'eu-south-1',
    'ap-south-1',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-southeast-1',
    'ap-southeast-2',
  ].map((region) => `https://sts.${region}.amazonaws.com`),
].join(',');

/** A comma-separated list, trimmed, empty items dropped. */
export const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** A comma-separated list of https origins (no path, query or credentials), parsed to origins. */
export const httpsOrigins = commaList
  .refine((items) => items.length > 0, 'must name at least one https origin')
  .refine(
    (items) =>
      items.every((item) => {
        if (!URL.canParse(item)) return false;
        const url = new URL(item);
        return url.protocol === 'https:' && url.origin === item.replace(/\/$/, '') && url.username === '';
      }),
    'must be https origins (scheme, host and port only), separated by commas',
  )
  .transform((items) => items.map((item) => new URL(item).origin));

/** A GUID (tenant, client and object ids), either case. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Cognito identity and identity pool ids (protocols.md §C.2): `<region>:<guid>`, 1-55 characters.
export const COGNITO_ID = /^[\w-]+:[0-9a-f-]+$/;

/** `[{"account": "<12 digits>", "issuer": "https://…", "jwksUrl"?: "https://…"}]`: AWS web identity issuers per account. */
export const webIdentityIssuers = jsonArray(
  z
    .object({ account: z.string().regex(/^\d{12}$/), issuer: httpsUrl, jwksUrl: httpsUrl.optional() })
    .strict(),
  '{account, issuer, jwksUrl?} with https URLs',
).transform((entries) =>
  entries.map((entry) => ({
    account: entry.account,
    issuer: withoutSlash(entry.issuer),
    jwksUrl: entry.jwksUrl ?? `${withoutSlash(entry.issuer)}/.well-known/jwks.json`,
  })),
);

/** A JSON array of `item`s in one variable; `what` describes an item in the error. */
function jsonArray<T extends z.ZodType>(item: T, what: string) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a JSON array of ${what}` });
        return z.NEVER;
      }
    })
    .pipe(
      z.array(item, { error: `must be a JSON array of ${what}` }).min(1, `must be a JSON array of ${what}`),
    );
}

const withoutSlash = (url: string) => url.replace(/\/$/, '');

/**
 * `[{"trustDomain", "jwksUrl" | "workloadApi": true, "issuer"?}]`: the SPIFFE trust domains whose JWT-SVIDs
 * callers may present, each with keys from a JWKS URL (SPIRE's OIDC provider) or the Workload API's bundle stream.
 */
export const spiffeTrustDomains = jsonArray(
  z
    .object({
      trustDomain: z.string().regex(/^[a-z0-9._-]{1,255}$/),
      jwksUrl: httpsUrl.optional(),
      workloadApi: z.literal(true).optional(),
      issuer: z.string().url().optional(),
    })
    .strict()
    .refine((entry) => (entry.jwksUrl === undefined) !== (entry.workloadApi === undefined)),
  '{trustDomain, jwksUrl (https) or workloadApi: true, issuer?}',
);

/** `[{"issuer", "jwksUrl"?}]`: the Kubernetes clusters whose projected tokens callers may present. */
export const kubernetesIssuers = jsonArray(
  z.object({ issuer: httpsUrl, jwksUrl: httpsUrl.optional() }).strict(),
  '{issuer, jwksUrl?} with https URLs',
).transform((entries) =>
  // The issuer stays exact (an AKS issuer ends with a slash); the JWKS path is the API server's.
  entries.map((entry) => ({
    issuer: entry.issuer,
    jwksUrl: entry.jwksUrl ?? `${withoutSlash(entry.issuer)}/openid/v1/jwks`,
  })),
);

/** `[{"issuer", "jwksUrl", "algorithms"?, "audience"?, "claims"?, "maxLifetimeSeconds"?}]`: any other OIDC issuer. */
export const oidcIssuers = jsonArray(
  z
    .object({
      issuer: z.string().min(1),
      jwksUrl: httpsUrl,
      algorithms: z
        .array(
          z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
        )
        .min(1)
        .default(['RS256']),
      audience: z.string().min(1).optional(),
      claims: z.array(z.string().min(1)).default([]),
      maxLifetimeSeconds: z.number().int().min(60).max(86_400).default(3600),
    })
    .strict(),
  '{issuer, jwksUrl, algorithms?, audience?, claims?, maxLifetimeSeconds?}',
);

/** GitHub Actions' issuer and key set (protocols.md §E.1). */
export const githubDefaults = {
  issuer: 'https://token.actions.githubusercontent.com',
  jwksUrl: 'https://token.actions.githubusercontent.com/.well-known/jwks',
};

/** Six-field NCRONTAB (with seconds), as Azure Functions timers take it. */
export const ncrontab = z
  .string()
  .regex(
    /^\S+( \S+){5}$/,
    'must be a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week})',
  );

/** The refresh timer's default: every 5 minutes, at second 0. */
export const DEFAULT_REFRESH_SCHEDULE = '0 */5 * * * *';

/** Hosts that are this machine (Linux Consumption sets `http://localhost:8081/msi/token`). */
const isLoopback = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/**
 * 169.254.0.0/16: App Service and Container Apps on Linux set link-local endpoints such as
 * `http://169.254.129.2:8081/msi/token` (observed in public code, not documented by Microsoft). A
 * link-local address is not routed beyond the host's own link, so the header cannot travel further.
 */
const isLinkLocal = (hostname: string): boolean => /^169\.254\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** The cloud metadata service (IMDS on Azure VMs): another protocol, and never to be sent the header. */
const METADATA_ADDRESS = '169.254.169.254';

/**
 * Why IDENTITY_ENDPOINT is refused, or undefined when it is acceptable: http on loopback or on a link-local
 * address (the two forms the platform sets), or https anywhere; never the cloud metadata address
 * 169.254.169.254; no credentials, query or fragment. The reason names no value.
 */
export function identityEndpointProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be a URL';
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  // An IPv6 literal other than ::1 could be the metadata address in disguise (::ffff:a9fe:a9fe).
  if (url.hostname === METADATA_ADDRESS || (url.hostname.startsWith('[') && url.hostname !== '[::1]'))
    return 'must not be the cloud metadata address 169.254.169.254 (IMDS speaks another protocol) or an IPv6 address other than ::1';
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !isLinkLocal(url.hostname))
    return 'must be https unless it is on loopback or link-local (where the platform serves it)';
  if (url.username !== '' || url.password !== '' || url.hash !== '' || url.search !== '')
    return 'must carry no credentials, query or fragment';
  return undefined;
}

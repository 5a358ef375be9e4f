// The value schemas of configuration (config.ts reads the environment with them): numbers, https URLs
// and origins, comma lists, and the JSON lists of caller issuers each caller kind needs.
import * as z from './schema.js';

export const positiveInteger = z.coerce
  .number({ error: 'must be a whole number' })
  .check(z.int('must be a whole number'));
/** A whole number with bounds (each check's own message), and a default. */
export const boundedInteger = (fallback: number, ...bounds: Parameters<typeof positiveInteger.check>) =>
  z._default(positiveInteger.check(...bounds), fallback);
export const positive = (fallback: number) => boundedInteger(fallback, z.positive('must be positive'));
export const required = (what: string) =>
  z.string({ error: `is required: ${what}` }).check(z.minLength(1, `is required: ${what}`));
/** A string that may be absent but not empty. */
export const nonEmpty = () => z.optional(z.string().check(z.minLength(1)));

export const httpsUrl = z.url().check(
  z.refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', 'must be an https URL'),
  z.refine((value) => {
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  }, 'must carry no query, fragment or credentials'),
);

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
export const commaList = z.pipe(
  z.string(),
  z.transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/** A comma-separated list of https origins (no path, query or credentials), parsed to origins. */
export const httpsOrigins = z.pipe(
  commaList.check(
    z.refine((items) => items.length > 0, 'must name at least one https origin'),
    z.refine(
      (items) =>
        items.every((item) => {
          if (!URL.canParse(item)) return false;
          const url = new URL(item);
          return url.protocol === 'https:' && url.origin === item.replace(/\/$/, '') && url.username === '';
        }),
      'must be https origins (scheme, host and port only), separated by commas',
    ),
  ),
  z.transform((items) => items.map((item) => new URL(item).origin)),
);

/** A GUID (tenant, client and object ids), either case. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Cognito identity and identity pool ids (protocols.md §C.2): `<region>:<guid>`, 1-55 characters.
export const COGNITO_ID = /^[\w-]+:[0-9a-f-]+$/;

/** `[{"account": "<12 digits>", "issuer": "https://…", "jwksUrl"?: "https://…"}]`: AWS web identity issuers per account. */
export const webIdentityIssuers = z.pipe(
  jsonArray(
    z.strictObject({
      account: z.string().check(z.regex(/^\d{12}$/)),
      issuer: httpsUrl,
      jwksUrl: z.optional(httpsUrl),
    }),
    '{account, issuer, jwksUrl?} with https URLs',
  ),
  z.transform((entries) =>
    entries.map((entry) => ({
      account: entry.account,
      issuer: withoutSlash(entry.issuer),
      jwksUrl: entry.jwksUrl ?? `${withoutSlash(entry.issuer)}/.well-known/jwks.json`,
    })),
  ),
);

/** A JSON array of `item`s in one variable; `what` describes an item in the error. */
function jsonArray<T extends z.ZodMiniType>(item: T, what: string) {
  return z.pipe(
    z.pipe(
      z.string(),
      z.transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: `must be a JSON array of ${what}`, input: text });
          return z.NEVER;
        }
      }),
    ),
    z
      .array(item, { error: `must be a JSON array of ${what}` })
      .check(z.minLength(1, `must be a JSON array of ${what}`)),
  );
}

const withoutSlash = (url: string) => url.replace(/\/$/, '');

/**
 * `[{"trustDomain", "jwksUrl" | "workloadApi": true, "issuer"?}]`: the SPIFFE trust domains whose JWT-SVIDs
 * callers may present, each with keys from a JWKS URL (SPIRE's OIDC provider) or the Workload API's bundle stream.
 */
export const spiffeTrustDomains = jsonArray(
  z
    .strictObject({
      trustDomain: z.string().check(z.regex(/^[a-z0-9._-]{1,255}$/)),
      jwksUrl: z.optional(httpsUrl),
      workloadApi: z.optional(z.literal(true)),
      issuer: z.optional(z.url()),
    })
    .check(z.refine((entry) => (entry.jwksUrl === undefined) !== (entry.workloadApi === undefined))),
  '{trustDomain, jwksUrl (https) or workloadApi: true, issuer?}',
);

/** `[{"issuer", "jwksUrl"?}]`: the Kubernetes clusters whose projected tokens callers may present. */
export const kubernetesIssuers = z.pipe(
  jsonArray(
    z.strictObject({ issuer: httpsUrl, jwksUrl: z.optional(httpsUrl) }),
    '{issuer, jwksUrl?} with https URLs',
  ),
  z.transform((entries) =>
    // The issuer stays exact (an AKS issuer ends with a slash); the JWKS path is the API server's.
    entries.map((entry) => ({
      issuer: entry.issuer,
      jwksUrl: entry.jwksUrl ?? `${withoutSlash(entry.issuer)}/openid/v1/jwks`,
    })),
  ),
);

/** `[{"issuer", "jwksUrl", "algorithms"?, "audience"?, "claims"?, "maxLifetimeSeconds"?}]`: any other OIDC issuer. */
export const oidcIssuers = jsonArray(
  z.strictObject({
    issuer: z.string().check(z.minLength(1)),
    jwksUrl: httpsUrl,
    algorithms: z._default(
      z
        .array(
          z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
        )
        .check(z.minLength(1)),
      ['RS256'],
    ),
    audience: nonEmpty(),
    claims: z._default(z.array(z.string().check(z.minLength(1))), []),
    maxLifetimeSeconds: z._default(z.number().check(z.int(), z.minimum(60), z.maximum(86_400)), 3600),
  }),
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
  .check(
    z.regex(
      /^\S+( \S+){5}$/,
      'must be a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week})',
    ),
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

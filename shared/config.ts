// The only reader of process.env: one zod schema, parsed once, frozen. Every error names the variable.
import {
  boundedInteger,
  COGNITO_ID,
  commaList,
  DEFAULT_REFRESH_SCHEDULE,
  DEFAULT_STS_ENDPOINTS,
  GUID,
  githubDefaults,
  httpsOrigins,
  httpsUrl,
  identityEndpointProblem,
  kubernetesIssuers,
  ncrontab,
  nonEmpty,
  oidcIssuers,
  positive,
  required,
  spiffeTrustDomains,
  webIdentityIssuers,
} from './configValues.js';
import { Keyring, parseKeyringSetting } from './exchange/tokenSeal.js';
import * as z from './schema.js';
import type { CognitoFlow } from './sources/cognito.js';

/** The longest caller token lifetime a caller kind accepts: 60 s to a day, an hour unless set. */
const callerTokenMaxLifetime = () =>
  boundedInteger(3600, z.minimum(60, 'must be at least 60'), z.maximum(86_400, 'must be at most 86400'));

/** Environment variables the broker reads, with defaults; documented in the README's table. */
const schema = z
  .object({
    BROKER_AUDIENCE: required('the audience callers must request their tokens for'),
    BROKER_POLICY_FILE: required('the path of the policy JSON file'),
    ENTRA_AUTHORITY_HOST: z._default(httpsUrl, 'https://login.microsoftonline.com'),
    ENTRA_TIMEOUT_MS: positive(10_000),
    TOKEN_EXCHANGE_AUDIENCE: z._default(z.string().check(z.minLength(1)), 'api://AzureADTokenExchange'),
    TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS: positive(300),
    TOKEN_MIN_REMAINING_SECONDS: positive(60),
    TOKEN_CACHE_MAX_ENTRIES: positive(10_000),
    TOKEN_REFRESH_SCHEDULE: z._default(ncrontab, DEFAULT_REFRESH_SCHEDULE),
    TOKEN_REFRESH_RECENT_SECONDS: positive(3600),
    ENTRA_RETRY_AFTER_MAX_SECONDS: positive(3600),
    AzureWebJobsStorage: nonEmpty(),
    TOKEN_SHARED_CACHE_CONNECTION: nonEmpty(),
    TOKEN_SHARED_CACHE_CONTAINER: z._default(
      z
        .string()
        .check(
          z.regex(
            /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
            'must be a blob container name (3-63 of a-z, 0-9, -)',
          ),
        ),
      'token-broker-cache',
    ),
    TOKEN_CACHE_KEYS: z.optional(
      z
        .string()
        .check(
          z.refine(keyringSettingValid, 'must be <version>:<base64 of 32 random bytes>, separated by commas'),
        ),
    ),
    TOKEN_CACHE_KEY_SECRET_URL: z.optional(
      z
        .string()
        .check(
          z.refine(
            (value) =>
              URL.canParse(value) &&
              new URL(value).protocol === 'https:' &&
              /^\/secrets\/[0-9A-Za-z-]{1,127}\/?$/.test(new URL(value).pathname),
            'must be a Key Vault secret URL such as https://my-vault.vault.azure.net/secrets/token-cache-key',
          ),
        ),
    ),
    TOKEN_LEASE_SECONDS: boundedInteger(
      15,
      z.minimum(15, 'must be at least 15 (Azure Storage leases)'),
      z.maximum(60, 'must be at most 60 (Azure Storage leases)'),
    ),
    STORAGE_TIMEOUT_MS: positive(2000),
    BROKER_VAULT_TARGET: z.optional(
      z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'must be a target name from the policy')),
    ),
    KEY_VAULT_CHALLENGE_VERIFICATION: z._default(z.enum(['on', 'off'], { error: 'must be on or off' }), 'on'),
    KEY_VAULT_TIMEOUT_MS: positive(10_000),
    SHARED_CACHE_RETRY_SECONDS: positive(30),
    GOOGLE_JWKS_URL: z._default(httpsUrl, 'https://www.googleapis.com/oauth2/v3/certs'),
    GOOGLE_TOKEN_MAX_LIFETIME_SECONDS: positive(3600),
    GCP_SERVICE_ACCOUNT: z._default(z.string().check(z.minLength(1)), 'default'),
    CALLER_TOKEN_MAX_BYTES: boundedInteger(
      8192,
      z.minimum(512, 'must be at least 512'),
      z.maximum(65_536, 'must be at most 65536'),
    ),
    VERIFIED_TOKEN_CACHE_MAX_ENTRIES: boundedInteger(
      100_000,
      z.minimum(0, 'must not be negative'),
      z.maximum(10_000_000, 'must be at most 10000000'),
    ),
    CALLER_CLOCK_SKEW_SECONDS: boundedInteger(
      60,
      z.minimum(0, 'must not be negative'),
      z.maximum(300, 'must be at most 300'),
    ),
    JWKS_CACHE_MAX_AGE_SECONDS: positive(600),
    JWKS_COOLDOWN_SECONDS: positive(30),
    JWKS_TIMEOUT_MS: positive(5000),
    JWKS_STALE_MAX_AGE_SECONDS: positive(86_400),
    SOURCE_TIMEOUT_MS: positive(5000),
    AWS_STS_ENDPOINTS: z.prefault(httpsOrigins, DEFAULT_STS_ENDPOINTS),
    AWS_STS_TIMEOUT_MS: positive(5000),
    AWS_WEB_IDENTITY_ISSUERS: z.optional(webIdentityIssuers),
    AWS_WEB_IDENTITY_TOKEN_MAX_LIFETIME_SECONDS: boundedInteger(
      3600,
      z.minimum(60, 'must be at least 60'),
      z.maximum(3600, 'must be at most 3600 (sts:GetWebIdentityToken)'),
    ),
    COGNITO_CALLER_POOL_IDS: z.optional(
      commaList.check(
        z.refine((items) => items.length > 0 && items.every((item) => COGNITO_ID.test(item)), {
          message: 'must be identity pool ids (<region>:<guid>), separated by commas',
        }),
      ),
    ),
    COGNITO_JWKS_URL: z._default(httpsUrl, 'https://cognito-identity.amazonaws.com/.well-known/jwks_uri'),
    AZURE_FEDERATED_TOKEN_FILE: nonEmpty(),
    // Set by App Service and Azure Functions when the app has a managed identity; checked only when a policy
    // target uses the managedIdentity source (managedIdentitySettings), so a broker on Azure that uses another
    // source never fails on the platform's values. IDENTITY_HEADER is a secret: no message shows it.
    IDENTITY_ENDPOINT: nonEmpty(),
    IDENTITY_HEADER: nonEmpty(),
    MANAGED_IDENTITY_CLIENT_ID: z.optional(
      z.string().check(z.regex(GUID, 'must be the client id (a GUID) of a user-assigned managed identity')),
    ),
    SPIFFE_TRUST_DOMAINS: z.optional(spiffeTrustDomains),
    SPIFFE_ENDPOINT_SOCKET: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^(unix:\/\/\/\S+|tcp:\/\/\S+:\d{1,5})$/,
            'must be unix:///<absolute path> or tcp://<ip>:<port>',
          ),
        ),
    ),
    // Pings on the bundle stream's connection (WorkloadApiClientOptions.keepaliveMs). 330 s: a margin above
    // gRPC-Go's default minimum of 5 minutes between pings (keepalive.EnforcementPolicy.MinTime), which the
    // SPIRE agent, a gRPC-Go server, enforces unless configured otherwise; grpc-js doubles its interval when
    // refused. 0 turns them off.
    SPIFFE_KEEPALIVE_SECONDS: boundedInteger(
      330,
      z.minimum(0, 'must not be negative'),
      z.maximum(3600, 'must be at most 3600'),
      z.refine((seconds) => seconds === 0 || seconds >= 10, 'must be 0 (off) or at least 10'),
    ),
    SPIFFE_SVID_MAX_LIFETIME_SECONDS: callerTokenMaxLifetime(),
    KUBERNETES_ISSUERS: z.optional(kubernetesIssuers),
    KUBERNETES_TOKEN_MAX_LIFETIME_SECONDS: boundedInteger(
      86_400,
      z.minimum(600, 'must be at least 600'),
      z.maximum(172_800, 'must be at most 172800'),
    ),
    GITHUB_ISSUER: z._default(httpsUrl, githubDefaults.issuer),
    GITHUB_JWKS_URL: z._default(httpsUrl, githubDefaults.jwksUrl),
    GITHUB_TOKEN_MAX_LIFETIME_SECONDS: callerTokenMaxLifetime(),
    OIDC_ISSUERS: z.optional(oidcIssuers),
    COGNITO_CALLER_TOKEN_MAX_LIFETIME_SECONDS: callerTokenMaxLifetime(),
    AWS_REGION: z.optional(
      z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')),
    ),
    AWS_TOKEN_SOURCE: z.optional(
      z.enum(['cognito', 'webIdentity'], { error: 'must be cognito or webIdentity' }),
    ),
    AWS_WEB_IDENTITY_DURATION_SECONDS: boundedInteger(
      900,
      z.minimum(600, 'must be at least 600 (the source refreshes 300 s before expiry)'),
      z.maximum(3600, 'must be at most 3600 (sts:GetWebIdentityToken)'),
    ),
    COGNITO_IDENTITY_POOL_ID: z.optional(
      z.string().check(z.regex(COGNITO_ID, 'must be an identity pool id (<region>:<guid>)')),
    ),
    COGNITO_DEVELOPER_PROVIDER: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    COGNITO_DEVELOPER_USER_ID: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    COGNITO_IDENTITY_ID: z.optional(
      z.string().check(z.regex(COGNITO_ID, 'must be an identity id (<region>:<guid>)')),
    ),
    COGNITO_TOKEN_DURATION_SECONDS: boundedInteger(
      900,
      z.minimum(600, 'must be at least 600 (the source refreshes 300 s before expiry)'),
      // GetOpenIdTokenForDeveloperIdentity's maximum, inside Entra's 25-hour assertion lifetime (AADSTS70023).
      z.maximum(86_400, 'must be at most 86400 (GetOpenIdTokenForDeveloperIdentity)'),
    ),
  })
  .check(
    z.refine((config) => config.TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS > config.TOKEN_MIN_REMAINING_SECONDS, {
      path: ['TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS'],
      message:
        'must be greater than TOKEN_MIN_REMAINING_SECONDS (refresh starts before tokens stop being served)',
    }),
  );

/** A keyring setting parses; its error never shows the value (it holds keys). */
function keyringSettingValid(value: string): boolean {
  try {
    return new Keyring(parseKeyringSetting(value)).versions.length > 0;
  } catch {
    return false;
  }
}

export type BrokerConfig = Readonly<z.infer<typeof schema>>;

/** Configuration is invalid; the message names every offending variable and nothing else of the environment. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid broker configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  // An empty variable means "not set" (as app settings often are), never 0 or the empty string.
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = schema.safeParse(set);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
  }
  return Object.freeze(result.data);
}

/** How the broker obtains its own assertion on AWS (a policy target with `source: "aws"`). */
export type AwsSourceSettings =
  | { kind: 'webIdentity'; region: string; durationSeconds: number }
  | {
      kind: 'cognito';
      region: string;
      flow: CognitoFlow;
    };

/**
 * `need(name, why)`: true when the variable is set; otherwise adds "NAME is required: why" to `problems`
 * and returns false, so a source's settings report every missing variable at once.
 */
function requiredIn(config: BrokerConfig, problems: string[]) {
  return (name: keyof BrokerConfig, why: string): boolean => {
    if (config[name] !== undefined) return true;
    problems.push(`${name} is required: ${why}`);
    return false;
  };
}

/** The AWS source's settings, checked together; throws ConfigError naming each missing variable. */
export function awsSourceSettings(config: BrokerConfig): AwsSourceSettings {
  const problems: string[] = [];
  const need = requiredIn(config, problems);
  need('AWS_TOKEN_SOURCE', 'a policy target uses source "aws"; choose cognito or webIdentity');
  need('AWS_REGION', 'the AWS token source calls a regional endpoint');
  if (config.AWS_TOKEN_SOURCE === 'cognito') {
    const developer =
      config.COGNITO_DEVELOPER_PROVIDER !== undefined || config.COGNITO_DEVELOPER_USER_ID !== undefined;
    if (developer || config.COGNITO_IDENTITY_ID === undefined) {
      need('COGNITO_IDENTITY_POOL_ID', 'the developer-authenticated flow names the pool');
      need(
        'COGNITO_DEVELOPER_PROVIDER',
        "the developer-authenticated flow names the pool's developer provider",
      );
      need(
        'COGNITO_DEVELOPER_USER_ID',
        "the developer-authenticated flow names the broker's developer user id",
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const region = config.AWS_REGION as string;
  if (config.AWS_TOKEN_SOURCE === 'webIdentity') {
    return { kind: 'webIdentity', region, durationSeconds: config.AWS_WEB_IDENTITY_DURATION_SECONDS };
  }
  return {
    kind: 'cognito',
    region,
    flow:
      config.COGNITO_DEVELOPER_PROVIDER !== undefined
        ? {
            kind: 'developer',
            identityPoolId: config.COGNITO_IDENTITY_POOL_ID as string,
            providerName: config.COGNITO_DEVELOPER_PROVIDER,
            userId: config.COGNITO_DEVELOPER_USER_ID as string,
            tokenDurationSeconds: config.COGNITO_TOKEN_DURATION_SECONDS,
          }
        : { kind: 'basic', identityId: config.COGNITO_IDENTITY_ID as string },
  };
}

/** What the managedIdentity source needs: the platform's endpoint and header, and the identity to ask for. */
export interface ManagedIdentitySettings {
  endpoint: string;
  header: string;
  clientId: string;
}

/** IDENTITY_HEADER's alphabet: what the platform sets (hex or a GUID) fits in it, and no header injection does. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** The managedIdentity source's settings, checked together; throws ConfigError naming each problem. */
export function managedIdentitySettings(config: BrokerConfig): ManagedIdentitySettings {
  const problems: string[] = [];
  const need = requiredIn(config, problems);
  const used = 'a policy target uses source "managedIdentity"';
  const {
    IDENTITY_ENDPOINT: endpoint,
    IDENTITY_HEADER: header,
    MANAGED_IDENTITY_CLIENT_ID: clientId,
  } = config;
  if (
    need(
      'IDENTITY_ENDPOINT',
      `${used}; App Service and Azure Functions set it when a managed identity is assigned to the app`,
    )
  ) {
    const problem = identityEndpointProblem(endpoint as string);
    if (problem !== undefined) problems.push(`IDENTITY_ENDPOINT ${problem}`);
  }
  // fetch refuses a header value with CR, LF or NUL and quotes it in its error; refused here, unshown.
  if (
    need('IDENTITY_HEADER', `${used}; the platform sets it with IDENTITY_ENDPOINT`) &&
    !VISIBLE_ASCII.test(header as string)
  )
    problems.push(
      'IDENTITY_HEADER must be visible ASCII only (no spaces or control characters); its value is not shown',
    );
  need(
    'MANAGED_IDENTITY_CLIENT_ID',
    `${used}; the client id of the user-assigned identity whose token Entra accepts (a system-assigned identity cannot be a federated credential)`,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return { endpoint, header, clientId } as ManagedIdentitySettings;
}

/**
 * The refresh timer's schedule, read when the function registers (before the rest of the configuration
 * is loaded): TOKEN_REFRESH_SCHEDULE, or every 5 minutes. An invalid value is a ConfigError naming it.
 */
export function refreshSchedule(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.TOKEN_REFRESH_SCHEDULE?.trim() || DEFAULT_REFRESH_SCHEDULE;
  const parsed = ncrontab.safeParse(value);
  if (!parsed.success) throw new ConfigError([`TOKEN_REFRESH_SCHEDULE ${parsed.error.issues[0]?.message}`]);
  return parsed.data;
}

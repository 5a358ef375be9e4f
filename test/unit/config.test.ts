// Configuration: defaults, cross-checks, and errors that name the variable.
import { describe, expect, it } from 'vitest';
import { awsSourceSettings, ConfigError, loadConfig, managedIdentitySettings } from '../../shared/config.js';

const minimal = {
  BROKER_AUDIENCE: 'https://broker.example.com',
  BROKER_POLICY_FILE: '/etc/broker/policy.json',
};

describe('loadConfig', () => {
  it('applies documented defaults and freezes the result', () => {
    const config = loadConfig(minimal);

    expect(config).toMatchObject({
      ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com',
      TOKEN_EXCHANGE_AUDIENCE: 'api://AzureADTokenExchange',
      GOOGLE_JWKS_URL: 'https://www.googleapis.com/oauth2/v3/certs',
      CALLER_TOKEN_MAX_BYTES: 8192,
      CALLER_CLOCK_SKEW_SECONDS: 60,
      TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS: 300,
      SPIFFE_KEEPALIVE_SECONDS: 330,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{}, 'BROKER_AUDIENCE is required'],
    [
      { ...minimal, ENTRA_AUTHORITY_HOST: 'http://login.example' },
      'ENTRA_AUTHORITY_HOST must be an https URL',
    ],
    [
      { ...minimal, GOOGLE_JWKS_URL: 'https://keys.example/certs?x=1' },
      'GOOGLE_JWKS_URL must carry no query',
    ],
    [{ ...minimal, CALLER_CLOCK_SKEW_SECONDS: '900' }, 'CALLER_CLOCK_SKEW_SECONDS must be at most 300'],
    [
      { ...minimal, SPIFFE_KEEPALIVE_SECONDS: '5' },
      'SPIFFE_KEEPALIVE_SECONDS must be 0 (off) or at least 10',
    ],
    [{ ...minimal, ENTRA_TIMEOUT_MS: 'soon' }, 'ENTRA_TIMEOUT_MS must be a whole number'],
    [{ ...minimal, TOKEN_MIN_REMAINING_SECONDS: '-5' }, 'TOKEN_MIN_REMAINING_SECONDS must be positive'],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names a malformed URL as a ConfigError, echoing no value', () => {
    const attempt = () =>
      loadConfig({
        ...minimal,
        GOOGLE_JWKS_URL: 'not a url hunter2',
        ENTRA_AUTHORITY_HOST: 'https://user:hunter2@login.example',
      });

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('GOOGLE_JWKS_URL must be an https URL');
    expect(attempt).toThrow('ENTRA_AUTHORITY_HOST must carry no query, fragment or credentials');
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('treats an empty variable as unset, and checks refresh against the safety margin', () => {
    expect(loadConfig({ ...minimal, CALLER_CLOCK_SKEW_SECONDS: '' }).CALLER_CLOCK_SKEW_SECONDS).toBe(60);
    expect(loadConfig({ ...minimal, SPIFFE_KEEPALIVE_SECONDS: '0' }).SPIFFE_KEEPALIVE_SECONDS).toBe(0);
    expect(() => loadConfig({ ...minimal, TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS: '30' })).toThrow(
      'TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS must be greater than TOKEN_MIN_REMAINING_SECONDS',
    );
  });
});

describe('local.settings.json.example', () => {
  it('names every variable the broker reads, each with a value the schema accepts', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = JSON.parse(
      await readFile(new URL('../../local.settings.json.example', import.meta.url), 'utf8'),
    ) as {
      Values: Record<string, string>;
    };

    const config = loadConfig(example.Values);

    expect(Object.keys(config).sort()).toEqual(
      Object.keys(example.Values)
        .filter((name) => name !== 'FUNCTIONS_WORKER_RUNTIME')
        .sort(),
    );
  });

  it('and the README documents each of them', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');

    const undocumented = Object.keys(loadConfig(minimal)).filter(
      (name) => !readme.includes(`| \`${name}\` |`),
    );

    expect(undocumented).toEqual([]);
  });
});

describe('AWS settings', () => {
  it('defaults the STS allow-list to the global and regional origins, and parses a given list to origins', () => {
    expect(loadConfig(minimal).AWS_STS_ENDPOINTS).toContain('https://sts.eu-west-1.amazonaws.com');
    expect(loadConfig(minimal).AWS_STS_ENDPOINTS[0]).toBe('https://sts.amazonaws.com');
    expect(
      loadConfig({
        ...minimal,
        AWS_STS_ENDPOINTS: ' https://127.0.0.1:8443 , https://sts.eu-west-1.amazonaws.com/',
      }).AWS_STS_ENDPOINTS,
    ).toEqual(['https://127.0.0.1:8443', 'https://sts.eu-west-1.amazonaws.com']);
  });

  it.each([
    ['http://sts.amazonaws.com'],
    ['https://sts.amazonaws.com/path'],
    ['https://sts.amazonaws.com?x=1'],
    ['https://user@sts.amazonaws.com'],
  ])('refuses %s as an STS origin', (value) => {
    expect(() => loadConfig({ ...minimal, AWS_STS_ENDPOINTS: value })).toThrow(
      'AWS_STS_ENDPOINTS must be https origins (scheme, host and port only), separated by commas',
    );
  });

  it('reads the web identity source', () => {
    expect(
      awsSourceSettings(loadConfig({ ...minimal, AWS_TOKEN_SOURCE: 'webIdentity', AWS_REGION: 'eu-west-1' })),
    ).toEqual({ kind: 'webIdentity', region: 'eu-west-1', durationSeconds: 900 });
  });

  it('reads the developer-authenticated and the basic Cognito flows', () => {
    const cognito = { ...minimal, AWS_TOKEN_SOURCE: 'cognito', AWS_REGION: 'eu-west-1' };

    expect(
      awsSourceSettings(
        loadConfig({
          ...cognito,
          COGNITO_IDENTITY_POOL_ID: 'eu-west-1:0d3c2b1a-0000-4000-8000-000000000001',
          COGNITO_DEVELOPER_PROVIDER: 'broker.example.com',
          COGNITO_DEVELOPER_USER_ID: 'token-broker',
          COGNITO_TOKEN_DURATION_SECONDS: '1200',
        }),
      ),
    ).toEqual({
      kind: 'cognito',
      region: 'eu-west-1',
      flow: {
        kind: 'developer',
        identityPoolId: 'eu-west-1:0d3c2b1a-0000-4000-8000-000000000001',
        providerName: 'broker.example.com',
        userId: 'token-broker',
        tokenDurationSeconds: 1200,
      },
    });
    expect(
      awsSourceSettings(
        loadConfig({ ...cognito, COGNITO_IDENTITY_ID: 'eu-west-1:0d3c2b1a-0000-4000-8000-0000000000aa' }),
      ),
    ).toEqual({
      kind: 'cognito',
      region: 'eu-west-1',
      flow: { kind: 'basic', identityId: 'eu-west-1:0d3c2b1a-0000-4000-8000-0000000000aa' },
    });
  });

  it('names every missing variable', () => {
    expect(() => awsSourceSettings(loadConfig(minimal))).toThrow(
      /AWS_TOKEN_SOURCE is required: .*; AWS_REGION is required/,
    );
    expect(() =>
      awsSourceSettings(loadConfig({ ...minimal, AWS_TOKEN_SOURCE: 'cognito', AWS_REGION: 'eu-west-1' })),
    ).toThrow(
      /COGNITO_IDENTITY_POOL_ID is required.*COGNITO_DEVELOPER_PROVIDER is required.*COGNITO_DEVELOPER_USER_ID is required/,
    );
    expect(() => loadConfig({ ...minimal, AWS_WEB_IDENTITY_DURATION_SECONDS: '300' })).toThrow(
      'AWS_WEB_IDENTITY_DURATION_SECONDS must be at least 600',
    );
  });
});

describe('managed identity settings', () => {
  const platform = {
    ...minimal,
    IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token',
    IDENTITY_HEADER: 'platform-header-secret-value',
    MANAGED_IDENTITY_CLIENT_ID: '7e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  };

  it('takes the endpoint and header the platform set and the identity named', () => {
    expect(managedIdentitySettings(loadConfig(platform))).toEqual({
      endpoint: 'http://localhost:8081/msi/token',
      header: 'platform-header-secret-value',
      clientId: '7e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
    });
  });

  it('names each missing variable and what sets it', () => {
    let error: unknown;
    try {
      managedIdentitySettings(loadConfig(minimal));
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'IDENTITY_ENDPOINT is required: a policy target uses source "managedIdentity"; App Service and Azure Functions set it when a managed identity is assigned to the app',
      'IDENTITY_HEADER is required: a policy target uses source "managedIdentity"; the platform sets it with IDENTITY_ENDPOINT',
      'MANAGED_IDENTITY_CLIENT_ID is required: a policy target uses source "managedIdentity"; the client id of the user-assigned identity whose token Entra accepts (a system-assigned identity cannot be a federated credential)',
    ]);
  });

  it.each([
    'http://localhost:8081/msi/token',
    'http://127.0.0.1:41741/MSI/token/',
    'http://169.254.129.2:8081/msi/token',
    'https://identity.example.com/msi/token',
  ])('accepts the endpoint %s', (endpoint) => {
    expect(managedIdentitySettings(loadConfig({ ...platform, IDENTITY_ENDPOINT: endpoint })).endpoint).toBe(
      endpoint,
    );
  });

  it.each([
    ['http://169.254.169.254/metadata/identity/oauth2/token', 'must not be the cloud metadata address'],
    ['https://169.254.169.254/msi/token', 'must not be the cloud metadata address'],
    ['http://[::ffff:a9fe:a9fe]/msi/token', 'must not be the cloud metadata address'],
    ['http://[::ffff:169.254.169.254]/msi/token', 'must not be the cloud metadata address'],
    ['http://identity.example.com/msi/token', 'must be https unless it is on loopback or link-local'],
    ['http://10.0.0.4:8081/msi/token', 'must be https unless it is on loopback or link-local'],
    [
      'http://localhost:8081/msi/token?api-version=2017-09-01',
      'must carry no credentials, query or fragment',
    ],
    ['file:///etc/passwd', 'must be an http or https URL'],
    ['not a url', 'must be a URL'],
  ])('refuses the endpoint %s', (endpoint, message) => {
    const attempt = () => managedIdentitySettings(loadConfig({ ...platform, IDENTITY_ENDPOINT: endpoint }));

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`IDENTITY_ENDPOINT ${message}`);
  });

  it.each([
    ['a newline', 'header-part-one\nheader-part-two'],
    ['CR LF', 'header-part-one\r\nX-Injected: header-part-two'],
    ['NUL', 'header-part-one\u0000header-part-two'],
    ['a space', 'header-part-one header-part-two'],
    ['a non-ASCII letter', 'header-part-one\u00e9header-part-two'],
  ])('refuses a header with %s without showing it', (_, header) => {
    let error: unknown;
    try {
      managedIdentitySettings(loadConfig({ ...platform, IDENTITY_HEADER: header }));
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'IDENTITY_HEADER must be visible ASCII only (no spaces or control characters); its value is not shown',
    ]);
    expect((error as ConfigError).message).not.toContain('header-part');
  });

  it('refuses a client id that is not a GUID, and loads the platform values when no target uses the source', () => {
    expect(() => loadConfig({ ...platform, MANAGED_IDENTITY_CLIENT_ID: 'uami-broker' })).toThrow(
      'MANAGED_IDENTITY_CLIENT_ID must be the client id (a GUID) of a user-assigned managed identity',
    );
    expect(
      loadConfig({
        ...minimal,
        IDENTITY_ENDPOINT: 'http://10.0.0.4:8081/msi/token',
        IDENTITY_HEADER: 'x\ny',
      }),
    ).toMatchObject({ IDENTITY_ENDPOINT: 'http://10.0.0.4:8081/msi/token', IDENTITY_HEADER: 'x\ny' });
  });
});

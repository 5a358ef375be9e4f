// The exchange flow with the real verifier and policy, a fake source and a fake Entra client:
// each refusal of issue 4 with its exact JSON, the audit line, and one Entra call for many requests.
import { beforeEach, describe, expect, it } from 'vitest';
import { createGoogleVerifier } from '../../../shared/callers/google.js';
import { toWireError } from '../../../shared/errors.js';
import { EntraError, type EntraTokenRequest } from '../../../shared/exchange/entraClient.js';
import { type ExchangeDependencies, exchangeToken } from '../../../shared/exchange/exchangeToken.js';
import { TokenCache } from '../../../shared/exchange/tokenCache.js';
import { compilePolicy } from '../../../shared/policy.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';
import { PAYMENTS_ROLE_SESSION } from '../../helpers/principals.js';
import { createTestSigner, type TestSigner } from '../../helpers/signer.js';

const NOW = 1_800_000_000;
const AUDIENCE = 'https://broker.example.com';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const VAULT = 'https://vault.azure.net/.default';
const ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ2YXVsdCJ9.c2lnbmF0dXJl';
const BROKER_ASSERTION = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJicm9rZXIifQ.YnJva2Vy';

let signer: TestSigner;
let entraCalls: EntraTokenRequest[];
let entraFailure: Error | undefined;
let sourceFailure: Error | undefined;
let lines: string[];
let deps: ExchangeDependencies;

const log = {
  info: (l: unknown) => lines.push(String(l)),
  warn: (l: unknown) => lines.push(String(l)),
  error: (l: unknown) => lines.push(String(l)),
};
const callerToken = (claims: Record<string, unknown> = {}) =>
  signer.sign({
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    sub: '1001',
    email: 'caller@demo-project.iam.gserviceaccount.com',
    email_verified: true,
    iat: NOW - 5,
    exp: NOW + 3000,
    ...claims,
  });
const form = (params: Record<string, string>) =>
  new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    audience: 'vault-reader',
    ...params,
  }).toString();
const refusal = async (params: string) => {
  const error = await exchangeToken(deps, params, log).then(
    () => undefined,
    (e: unknown) => e,
  );
  const { status, body, headers } = toWireError(error);
  return { status, body, retryAfter: headers['Retry-After'] };
};

beforeEach(async () => {
  signer ??= await createTestSigner();
  entraCalls = [];
  entraFailure = undefined;
  sourceFailure = undefined;
  lines = [];
  const clock = { now: () => NOW * 1000 };
  deps = {
    verifiers: [
      createGoogleVerifier({
        audience: AUDIENCE,
        keys: signer.keys,
        clock,
        clockSkewSeconds: 60,
        maxTokenBytes: 8192,
        maxLifetimeSeconds: 3600,
      }),
    ],
    policy: compilePolicy({
      version: 1,
      targets: {
        'vault-reader': { tenant: TENANT, clientId: CLIENT, scopes: [VAULT], source: 'gcpMetadata' },
      },
      rules: [{ name: 'demo', callers: [{ kind: 'google', subject: '1001' }], targets: ['vault-reader'] }],
    }),
    sources: new Map([
      [
        'gcpMetadata',
        {
          name: 'gcpMetadata',
          getAssertion: async () => {
            if (sourceFailure) throw sourceFailure;
            return {
              token: BROKER_ASSERTION,
              expiresAtMs: (NOW + 3600) * 1000,
              issuer: 'https://accounts.google.com',
              subject: '9009',
            };
          },
        },
      ],
    ]),
    entra: {
      requestToken: async (request) => {
        entraCalls.push(request);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (entraFailure) throw entraFailure;
        return { accessToken: ACCESS_TOKEN, expiresAtMs: (NOW + 3599) * 1000 };
      },
    },
    cache: new TokenCache({ clock, refreshBeforeMs: 300_000, minRemainingMs: 60_000, maxEntries: 100 }),
    clock,
    callerTokenMaxBytes: 8192,
    tokenExchangeAudience: 'api://AzureADTokenExchange',
  };
});

describe('exchangeToken', () => {
  it('answers the JSON text of its response, whatever characters the access token holds', async () => {
    const token = await callerToken();
    // Quotes, a backslash, a control character, non-ASCII, a lone surrogate: all escaped as JSON does.
    const odd = `a"b\\c\u0001d\u00e9\u2028\ud800${ACCESS_TOKEN}`;
    deps.entra = { requestToken: async () => ({ accessToken: odd, expiresAtMs: (NOW + 3599) * 1000 }) };

    for (let round = 0; round < 2; round++) {
      const granted = await exchangeToken(deps, form({ subject_token: token }), log);

      expect(granted.response.access_token).toBe(odd);
      expect(granted.json).toBe(JSON.stringify(granted.response));
      expect(JSON.parse(granted.json)).toEqual(granted.response);
    }
  });

  it("answers each second's expires_in, though the text of an answer is built once a second", async () => {
    const token = await callerToken();
    const grant = () => exchangeToken(deps, form({ subject_token: token }), log);
    const [first, second] = [await grant(), await grant()];
    expect(second.json).toBe(first.json);
    expect(first.response.expires_in).toBe(3599);

    deps.clock.now = () => (NOW + 1) * 1000;
    const later = await grant();
    expect(later.response.expires_in).toBe(3598);
    expect(later.json).toBe(JSON.stringify(later.response));
    deps.clock.now = () => NOW * 1000 + 1999;
    expect(JSON.parse((await grant()).json).expires_in).toBe(3597);
  });

  it('grants, exchanges once for many concurrent callers, and audits without tokens', async () => {
    const token = await callerToken();

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => exchangeToken(deps, form({ subject_token: token }), log)),
    );

    expect(responses[0]?.response).toEqual({
      access_token: ACCESS_TOKEN,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3599,
      scope: VAULT,
    });
    for (const granted of responses) expect(granted.json).toBe(JSON.stringify(granted.response));
    expect(entraCalls).toEqual([
      { tenant: TENANT, clientId: CLIENT, scope: VAULT, assertion: BROKER_ASSERTION },
    ]);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({
      event: 'token.decision',
      outcome: 'granted',
      status: 200,
      reason: 'rule_matched',
      caller: 'google:1001(caller@demo-project.iam.gserviceaccount.com)',
      target: 'vault-reader',
      scope: VAULT,
      rule: 'demo',
      cache: 'miss',
      tokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      subjectTokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const all = lines.join('\n');
    for (const secret of [token, ACCESS_TOKEN, BROKER_ASSERTION]) expect(all).not.toContain(secret);
  });

  it.each([
    ['no grant_type', { grant_type: '' }, 400, 'invalid_request', "The parameter 'grant_type' is required."],
    [
      'another grant type',
      { grant_type: 'client_credentials' },
      400,
      'unsupported_grant_type',
      'Only the grant type urn:ietf:params:oauth:grant-type:token-exchange is supported.',
    ],
    [
      'no subject token',
      { subject_token: '' },
      400,
      'invalid_request',
      "The parameter 'subject_token' is required.",
    ],
    [
      'an unsupported token type',
      { subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      400,
      'invalid_request',
      'The subject_token_type must be one of urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:id_token, urn:ietf:params:aws:token-type:aws4_request.',
    ],
    [
      'the AWS type while the policy names no AWS IAM caller',
      { subject_token: 'x', subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request' },
      400,
      'invalid_request',
      'This broker admits no AWS IAM callers; its policy names none.',
    ],
    [
      'a malformed subject token',
      { subject_token: 'not-a-jwt' },
      401,
      'invalid_grant',
      'The subject token was refused: the subject token is not a compact JWS (three segments).',
    ],
    [
      'no audience',
      { subject_token: 'x', audience: '' },
      400,
      'invalid_request',
      "The parameter 'audience' (the target name in the policy) is required.",
    ],
    [
      'two scopes',
      { subject_token: 'x', scope: `${VAULT} https://graph.microsoft.com/.default` },
      400,
      'invalid_scope',
      'Exactly one scope may be requested: Entra issues one resource per token.',
    ],
  ])('refuses %s', async (_name, params, status, error, description) => {
    const result = await refusal(form(params as Record<string, string>));

    expect(result).toEqual({
      status,
      body: { error, error_description: description },
      retryAfter: undefined,
    });
    expect(entraCalls).toHaveLength(0);
  });

  it.each([
    [
      'wrong audience',
      { aud: 'https://other' },
      401,
      'invalid_grant',
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    ['expired', { iat: NOW - 4000, exp: NOW - 400 }, 401, 'invalid_grant', 'The subject token has expired.'],
    [
      'an issuer not allowed',
      { iss: 'https://token.actions.githubusercontent.com' },
      401,
      'invalid_grant',
      "The subject token's issuer is not accepted by this broker.",
    ],
    [
      'a caller the policy does not admit',
      { sub: '2002' },
      403,
      'access_denied',
      'The policy does not allow google:2002(caller@demo-project.iam.gserviceaccount.com) to obtain tokens for target vault-reader.',
    ],
  ])('refuses a caller token with %s', async (_name, claims, status, error, description) => {
    expect(await refusal(form({ subject_token: await callerToken(claims) }))).toEqual({
      status,
      body: { error, error_description: description },
      retryAfter: undefined,
    });
    expect(entraCalls).toHaveLength(0);
  });

  it('refuses an unknown key, an unknown target and a scope outside the target', async () => {
    const stranger = await createTestSigner();
    const foreign = await stranger.sign(
      { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '1001', iat: NOW, exp: NOW + 60 },
      { kid: 'other' },
    );

    expect((await refusal(form({ subject_token: foreign }))).body).toEqual({
      error: 'invalid_grant',
      error_description: 'The subject token is signed with an unknown key.',
    });
    expect(await refusal(form({ subject_token: await callerToken(), audience: 'payroll' }))).toEqual({
      status: 403,
      body: {
        error: 'access_denied',
        error_description:
          'The policy does not allow google:1001(caller@demo-project.iam.gserviceaccount.com) to obtain tokens for target payroll.',
      },
      retryAfter: undefined,
    });
    expect(
      await refusal(
        form({ subject_token: await callerToken(), scope: 'https://graph.microsoft.com/.default' }),
      ),
    ).toEqual({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: `The requested scope is not allowed for target vault-reader; allowed: ${VAULT}.`,
      },
      retryAfter: undefined,
    });
  });

  it('answers a caller no rule admits alike for an existing and a made-up target; the audit line tells them apart (finding 2)', async () => {
    const stranger = await callerToken({ sub: '2002' });

    const existing = await refusal(form({ subject_token: stranger, audience: 'vault-reader' }));
    const madeUp = await refusal(form({ subject_token: stranger, audience: 'payroll' }));

    expect(existing.status).toBe(403);
    expect(existing.body.error).toBe('access_denied');
    expect(madeUp).toEqual({
      ...existing,
      body: {
        ...existing.body,
        error_description: existing.body.error_description.replace('vault-reader', 'payroll'),
      },
    });
    expect(lines.map((line) => JSON.parse(line).reason)).toEqual(['no_rule_matches', 'unknown_target']);
  });

  it('maps an Entra refusal to 502 with a clear description, keeping the AADSTS code for the audit line only', async () => {
    entraFailure = new EntraError('refused', 401, 700213, 'invalid_client', undefined);

    const result = await refusal(form({ subject_token: await callerToken() }));

    expect(result).toEqual({
      status: 502,
      body: {
        error: 'temporarily_unavailable',
        error_description:
          "Entra refused the broker's federated credential for target vault-reader (AADSTS700213): no federated credential on the target's application matches the broker's identity and audience 'api://AzureADTokenExchange'; the broker's operator finds the identifiers in the audit log.",
      },
      retryAfter: undefined,
    });
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      outcome: 'failed',
      status: 502,
      reason: 'entra_refused',
      aadsts: 700213,
      tenant: TENANT,
      clientId: CLIENT,
      assertionIssuer: 'https://accounts.google.com',
      assertionSubject: '9009',
    });
    // The identifiers an operator needs are the operator's: none reaches the caller (issue 7).
    for (const identifier of [TENANT, CLIENT, '9009', 'accounts.google.com'])
      expect(result.body.error_description).not.toContain(identifier);
  });

  it('maps Entra unreachable to 503 with Retry-After', async () => {
    entraFailure = new EntraError('unavailable', undefined, undefined, undefined, undefined);

    expect(await refusal(form({ subject_token: await callerToken() }))).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'Entra is unavailable for target vault-reader; retry later.',
      },
      retryAfter: '5',
    });
  });

  it('maps a failing token source to 503 with Retry-After, without calling Entra', async () => {
    sourceFailure = new SourceError('gcpMetadata', 'metadata server unreachable');

    expect(await refusal(form({ subject_token: await callerToken() }))).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description:
          'The broker could not obtain its own platform token from gcpMetadata for target vault-reader; retry later.',
      },
      retryAfter: '5',
    });
    expect(entraCalls).toHaveLength(0);
  });

  it('answers 503 with the remaining Retry-After while Entra throttles the target, without asking again', async () => {
    entraFailure = new EntraError('throttled', 429, undefined, undefined, 60);
    expect((await refusal(form({ subject_token: await callerToken() }))).retryAfter).toBe('60');

    const paused = await refusal(form({ subject_token: await callerToken() }));

    expect(paused).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'Entra is throttling token requests for target vault-reader; retry later.',
      },
      retryAfter: '60',
    });
    expect(entraCalls).toHaveLength(1);
  });

  it('replays an Entra refusal to every caller during the pause instead of asking Entra again (F9)', async () => {
    entraFailure = new EntraError('refused', 400, 700016, 'unauthorized_client', undefined);
    const token = await callerToken();

    const results = [];
    for (let i = 0; i < 10; i++) results.push(await refusal(form({ subject_token: token })));

    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toEqual({
      status: 502,
      body: {
        error: 'temporarily_unavailable',
        error_description:
          "Entra refused the broker's federated credential for target vault-reader (AADSTS700016): the target's application or managed identity does not exist in its tenant; the broker's operator finds the identifiers in the audit log.",
      },
      retryAfter: undefined,
    });
    expect(entraCalls).toHaveLength(1);
  });

  it('sends a signed AWS request to the aws-iam verifier and audits the role session it names', async () => {
    const signed = 'signed-aws-request-0123456789';
    const seen: string[] = [];
    deps = {
      ...deps,
      signedRequests: {
        verify: async (token) => {
          seen.push(token);
          return {
            principal: PAYMENTS_ROLE_SESSION,
            expiresAt: NOW + 300,
          };
        },
      },
      policy: compilePolicy({
        version: 1,
        targets: {
          'vault-reader': { tenant: TENANT, clientId: CLIENT, scopes: [VAULT], source: 'gcpMetadata' },
        },
        rules: [
          {
            name: 'aws',
            callers: [{ kind: 'aws-iam', account: '111122223333', role: 'payments-app' }],
            targets: ['vault-reader'],
          },
        ],
      }),
    };

    const granted = await exchangeToken(
      deps,
      form({ subject_token: signed, subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request' }),
      log,
    );

    expect(granted.response.access_token).toBe(ACCESS_TOKEN);
    expect(seen).toEqual([signed]);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      outcome: 'granted',
      caller: 'aws-iam:arn:aws:sts::111122223333:assumed-role/payments-app/i-0abc',
      rule: 'aws',
    });
    expect(lines.join('\n')).not.toContain(signed);
  });

  it('logs a failed background refresh without a token', async () => {
    const token = await callerToken();
    const clock = { t: NOW * 1000, now: () => clock.t };
    deps = {
      ...deps,
      clock,
      cache: new TokenCache({ clock, refreshBeforeMs: 300_000, minRemainingMs: 60_000, maxEntries: 10 }),
    };
    await exchangeToken(deps, form({ subject_token: token }), log);
    clock.t += 3400 * 1000; // inside the refresh window, token still valid
    entraFailure = new EntraError('refused', 401, 700213, 'invalid_client', undefined);

    const served = await exchangeToken(deps, form({ subject_token: token }), log).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(served?.response.access_token).toBe(ACCESS_TOKEN);
    const refresh = lines
      .map((line) => JSON.parse(line))
      .find((line) => line.event === 'token.refresh_failed');
    expect(refresh).toEqual({
      event: 'token.refresh_failed',
      target: 'vault-reader',
      scope: VAULT,
      reason: 'entra_refused',
      aadsts: 700213,
    });
  });
});

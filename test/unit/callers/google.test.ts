// The google caller verifier against valid tokens and the attack list (perf-reliability.md §2.5, §4.2).
import { generateKeyPairSync, sign } from 'node:crypto';
import { createLocalJWKSet, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGoogleVerifier, type GoogleVerifierOptions } from '../../../shared/callers/google.js';
import { JwksUnavailableError } from '../../../shared/callers/jwksResolver.js';
import { checkJwtShape } from '../../../shared/callers/jwtShape.js';
import type { CachedCaller } from '../../../shared/callers/verifiedTokenCache.js';
import { toWireError } from '../../../shared/errors.js';
import { errorText } from '../../helpers/errorText.js';
import { createTestSigner, rawJwt, type TestSigner } from '../../helpers/signer.js';

const NOW = 1_800_000_000;
const AUDIENCE = 'https://broker.example.com';
const SA = 'demo-caller@demo-project.iam.gserviceaccount.com';

let signer: TestSigner;
let options: GoogleVerifierOptions;
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: 'https://accounts.google.com',
  aud: AUDIENCE,
  azp: '112233445566778899001',
  sub: '112233445566778899001',
  email: SA,
  email_verified: true,
  iat: NOW - 10,
  exp: NOW - 10 + 3600,
  ...overrides,
});

beforeAll(async () => {
  signer = await createTestSigner();
  options = {
    audience: AUDIENCE,
    keys: signer.keys,
    clock: { now: () => NOW * 1000 },
    clockSkewSeconds: 60,
    maxTokenBytes: 8192,
    maxLifetimeSeconds: 3600,
  };
});

const refusal = async (token: string, overrides: Partial<GoogleVerifierOptions> = {}) => {
  const error = await createGoogleVerifier({ ...options, ...overrides })
    .verify(token)
    .then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
  return toWireError(error);
};

describe('google caller verifier', () => {
  it('yields the typed principal of a valid token', async () => {
    const { signingKey, ...caller } = (await createGoogleVerifier(options).verify(
      await signer.sign(claims()),
    )) as CachedCaller;

    // Which key verified it, for the verified-token cache.
    expect(signingKey?.header).toMatchObject({ alg: 'RS256', kid: 'k1' });
    expect(caller).toEqual({
      principal: {
        kind: 'google',
        issuer: 'https://accounts.google.com',
        subject: '112233445566778899001',
        email: SA,
        projectId: 'demo-project',
      },
      expiresAt: NOW - 10 + 3600,
    });
  });

  it("accepts the scheme-less issuer; the project is the account's home project, not where it runs", async () => {
    const runsElsewhere = await signer.sign(
      claims({ iss: 'accounts.google.com', google: { compute_engine: { project_id: 'host-project' } } }),
    );
    const noEmail = await signer.sign(
      claims({ email: undefined, google: { compute_engine: { project_id: 'host-project' } } }),
    );

    const first = await createGoogleVerifier(options).verify(runsElsewhere);
    const second = await createGoogleVerifier(options).verify(noEmail);

    expect(first.principal).toMatchObject({ issuer: 'accounts.google.com', projectId: 'demo-project' });
    expect(second.principal).toMatchObject({ email: undefined, projectId: undefined });
  });

  it('refuses a numeric sub (a claim of the wrong type)', async () => {
    const wire = await refusal(await signer.sign(claims({ sub: 12345 })));

    expect(wire.status).toBe(401);
    expect(wire.body.error).toBe('invalid_grant');
  });

  it('accepts a token expired by less than the clock skew', async () => {
    await expect(
      createGoogleVerifier(options).verify(await signer.sign(claims({ iat: NOW - 3630, exp: NOW - 30 }))),
    ).resolves.toBeDefined();
  });

  it.each([
    ['expired', { iat: NOW - 3700, exp: NOW - 61 }, 'ERR_JWT_EXPIRED'],
    ['for another audience', { aud: 'https://other.example.com' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['too old', { iat: NOW - 7300, exp: NOW + 100 }, 'ERR_JWT_EXPIRED'],
  ])("keeps none of the caller's claims in the refusal of a token %s", async (_name, overrides, code) => {
    const token = await signer.sign(claims({ ...overrides, hd: 'claims-canary.example.com' }));

    const error = await createGoogleVerifier(options)
      .verify(token)
      .catch((e: unknown) => e);

    // jose's error carries the decoded payload; only its name and code are kept.
    expect((error as Error).cause).toMatchObject({ code });
    expect(errorText(error)).not.toContain('claims-canary');
  });

  it.each([
    ['expired beyond the skew', claims({ iat: NOW - 3700, exp: NOW - 61 }), 'The subject token has expired.'],
    [
      'another audience',
      claims({ aud: 'https://other.example.com' }),
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    [
      'the audience with a trailing slash',
      claims({ aud: `${AUDIENCE}/` }),
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    [
      'two audiences',
      claims({ aud: [AUDIENCE, 'https://other.example.com'] }),
      'The subject token names more than one audience.',
    ],
    [
      'a non-Google issuer',
      claims({ iss: 'https://evil.example.com' }),
      'The subject token was not issued by Google.',
    ],
    [
      'the issuer with a trailing slash',
      claims({ iss: 'https://accounts.google.com/' }),
      'The subject token was not issued by Google.',
    ],
    [
      'the issuer over http',
      claims({ iss: 'http://accounts.google.com' }),
      'The subject token was not issued by Google.',
    ],
    ['no exp', claims({ exp: undefined }), "The subject token's 'exp' claim is missing or invalid."],
    ['no iat', claims({ iat: undefined }), "The subject token's 'iat' claim is missing or invalid."],
    [
      'exp as a string',
      claims({ exp: String(NOW + 100) }),
      "The subject token's 'exp' claim is missing or invalid.",
    ],
    [
      'a lifetime of two hours',
      claims({ iat: NOW - 10, exp: NOW + 7190 }),
      "The subject token's lifetime is longer than 3600 seconds.",
    ],
    [
      'exp ten years ahead',
      claims({ exp: NOW + 315_360_000 }),
      "The subject token's lifetime is longer than 3600 seconds.",
    ],
    [
      'iat five minutes ahead',
      claims({ iat: NOW + 300, exp: NOW + 3000 }),
      'The subject token was issued in the future or is too old.',
    ],
    [
      'iat older than the maximum age while exp is ahead (jose calls it expired)',
      claims({ iat: NOW - 3800, exp: NOW + 60 }),
      'The subject token was issued in the future or is too old.',
    ],
    ['nbf ahead', claims({ nbf: NOW + 300 }), 'The subject token is not valid yet.'],
    [
      'an unverified email',
      claims({ email_verified: false }),
      "The subject token's 'email' is not verified.",
    ],
    [
      'email_verified as a string',
      claims({ email_verified: 'true' }),
      "The subject token's 'email' is not verified.",
    ],
    ['a non-numeric sub', claims({ sub: 'admin' }), "The subject token's 'sub' is not a Google unique id."],
  ])('refuses %s with invalid_grant', async (_name, body, description) => {
    const wire = await refusal(await signer.sign(body));

    expect(wire.status).toBe(401);
    expect(wire.body).toEqual({ error: 'invalid_grant', error_description: description });
  });

  it.each([
    ['typ at+jwt', { typ: 'at+jwt' }, "The subject token's 'typ' claim is missing or invalid."],
    ['an unknown kid', { kid: 'k9' }, 'The subject token is signed with an unknown key.'],
    [
      'a jku header, before any key is looked up (no-fetch is proven in jwksResolver.test.ts)',
      { jku: 'https://attacker.example/jwks', kid: 'k9' },
      "The subject token was refused: the subject token's header carries 'jku', which this broker never uses.",
    ],
    ['no kid', { kid: undefined }, "The subject token's header names no signing key ('kid')."],
  ])('refuses %s', async (_name, header, description) => {
    const wire = await refusal(await signer.sign(claims(), header));

    expect(wire).toMatchObject({
      status: 401,
      body: { error: 'invalid_grant', error_description: description },
    });
  });

  it('refuses alg none, HS256 key confusion and a foreign signature', async () => {
    const none = rawJwt('{"alg":"none","kid":"k1","typ":"JWT"}', JSON.stringify(claims())).replace(
      /\.c2ln$/,
      '.AA',
    );
    const hs256 = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'JWT' })
      .sign(new TextEncoder().encode(JSON.stringify(signer.jwks.keys[0])));
    const forger = await createTestSigner();

    expect((await refusal(none)).body.error_description).toBe(
      'The subject token uses an algorithm that is not allowed.',
    );
    expect((await refusal(hs256)).body.error_description).toBe(
      'The subject token uses an algorithm that is not allowed.',
    );
    expect((await refusal(await forger.sign(claims()))).body.error_description).toBe(
      "The subject token's signature does not verify.",
    );
  });

  it('refuses a token from a 1024-bit RSA key with 401, not 500', async () => {
    // jose refuses to sign with a weak key, so node:crypto builds the token.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const signingInput = `${Buffer.from('{"alg":"RS256","kid":"w","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`;
    const token = `${signingInput}.${sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`;
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'w', alg: 'RS256' };

    const wire = await refusal(token, { keys: createLocalJWKSet({ keys: [jwk] }) });

    expect(wire).toEqual(
      expect.objectContaining({
        status: 401,
        body: { error: 'invalid_grant', error_description: 'The subject token is not a valid JWT.' },
      }),
    );
  });

  it('refuses an oversized token before verifying it', async () => {
    let resolved = 0;
    const wire = await refusal(await signer.sign(claims({ pad: 'x'.repeat(10_000) })), {
      keys: async () => {
        resolved++;
        return (await generateKeyPair('RS256')).publicKey;
      },
    });

    expect(wire.body.error_description).toBe(
      'The subject token was refused: the subject token is larger than 8192 bytes.',
    );
    expect(resolved).toBe(0);
  });

  it('keeps its own size cap when the dispatcher hands it a token already shape-checked against a larger one', async () => {
    const token = await signer.sign(claims({ pad: 'x'.repeat(10_000) }));
    const checked = checkJwtShape(token, { maxBytes: 65_536 });
    const error = await createGoogleVerifier(options)
      .verify(token, checked)
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );

    expect(toWireError(error).body.error_description).toBe(
      'The subject token was refused: the subject token is larger than 8192 bytes.',
    );
  });

  it("takes the dispatcher's shape check as given instead of checking the token again", async () => {
    const token = await signer.sign(claims());
    const checked = checkJwtShape(token, { maxBytes: 8192 });
    const verifier = createGoogleVerifier(options);

    expect((await verifier.verify(token, checked)).principal).toMatchObject({
      kind: 'google',
      subject: '112233445566778899001',
    });
    // Its own checks read the header the dispatcher decoded: one without a `kid` is refused although
    // the token itself names one, so the token was not decoded a second time.
    const { kid: _kid, ...withoutKid } = checked.header;
    const error = await verifier.verify(token, { ...checked, header: withoutKid }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(toWireError(error).body.error_description).toBe(
      "The subject token's header names no signing key ('kid').",
    );
  });

  it('answers 503 temporarily_unavailable when the keys cannot be fetched', async () => {
    const wire = await refusal(await signer.sign(claims()), {
      keys: async () => {
        throw new JwksUnavailableError({ cause: new TypeError('fetch failed') });
      },
    });

    expect(wire.status).toBe(503);
    expect(wire.headers['Retry-After']).toBe('5');
    expect(wire.body.error).toBe('temporarily_unavailable');
  });
});

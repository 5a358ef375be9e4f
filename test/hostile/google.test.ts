// The Google caller path against every JWT attack of perf-reliability.md §2.5 and its own hostile
// tokens (issue 7), over the sandbox's real sockets, with tokens the Google issuer stand-in signed
// through its sandbox-only admin route. A planted tripwire proves no URL in any token is contacted.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AttackKit,
  createAttackKit,
  describeRefusal,
  expectAnswer,
  JWT_ATTACK_CASES,
  type JwtCallerProfile,
  publishAttackKeys,
  runJwtAttackCases,
} from './jwtAttacks.js';
import {
  admittedGoogleClaims,
  type HostileSandbox,
  issuerControl,
  JWT_SHAPED,
  type Tripwire,
  useSandboxAndTripwire,
} from './kit.js';

const running = useSandboxAndTripwire();
let sandbox: HostileSandbox;
let tripwire: Tripwire;
let profile: JwtCallerProfile;
let attack: AttackKit;
const seen = new Set<string>();

beforeAll(async () => {
  ({ sandbox, tripwire } = running);
  const { endpoints } = sandbox;
  const issuer = issuerControl(endpoints.google.adminUrl);
  // Every key the cases need is published before the broker first reads Google's JWKS.
  const keys = await publishAttackKeys(issuer);
  profile = {
    name: 'google',
    issuer,
    algorithms: ['RS256'],
    nativeAlgorithm: 'RS256',
    skewSeconds: 60,
    maxLifetimeSeconds: 3600,
    audience: endpoints.broker.audience,
    claims: (now) => admittedGoogleClaims(endpoints, now),
    request: { audience: endpoints.demo.target, scope: endpoints.demo.scope },
    keys,
    describe: describeRefusal({
      audienceName: `this broker's audience (${endpoints.broker.audience})`,
      maxLifetimeSeconds: 3600,
    }),
  };
  attack = createAttackKit(profile, tripwire, endpoints.google.jwksUrl);
});

describe('the Google caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, () => ({ sandbox, attack }), seen);
});

describe('the Google caller path against its own hostile tokens', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const exchange = async (token: string, request = profile.request) => {
    seen.add(token);
    return sandbox.exchange({ subject_token: token, ...request });
  };

  it.each([
    [
      'a sub that is not a Google unique id',
      { sub: 'admin' },
      "The subject token's 'sub' is not a Google unique id.",
    ],
    ['an empty sub (§4.2 C9)', { sub: '' }, "The subject token's 'sub' is not a Google unique id."],
    [
      'a sub of 256 digits (§4.2 C9)',
      { sub: '1'.repeat(256) },
      "The subject token's 'sub' is not a Google unique id.",
    ],
    ['a numeric sub', { sub: 1_000_002 }, "The subject token's 'sub' is not a Google unique id."],
    [
      'email_verified as the string "true"',
      { email_verified: 'true' },
      "The subject token's 'email' is not verified.",
    ],
    ['email_verified false', { email_verified: false }, "The subject token's 'email' is not verified."],
    ['an email that is not a string', { email: ['a@b'] }, "The subject token's 'email' is not verified."],
  ])('refuses %s, validly signed, with 401', async (_name, overrides, description) => {
    const token = await attack.valid(overrides);

    expectAnswer(await exchange(token), { status: 401, error: 'invalid_grant', description }, profile, token);
  });

  it('refuses U+2028 and U+2029 in a verified claim, and no raw separator reaches a log line (finding 3)', async () => {
    const email = `demo-caller\u2028{"event":"token.decision","outcome":"granted"}\u2029@sandbox-project.iam.gserviceaccount.com`;

    const answer = await exchange(await attack.valid({ email }));

    expect(answer.status).toBe(401);
    expect(answer.json?.error_description).toBe(
      "The subject token was refused: the subject token's claim 'email' contains a control character or line separator.",
    );
    expect(sandbox.output()).not.toMatch(/[\u2028\u2029\u0085]/);
  });

  it('refuses an issuer it does not list, without contacting it', async () => {
    const token = await attack.valid({ iss: tripwire.httpsUrl });

    expectAnswer(await exchange(token), { status: 401, refusal: 'issuer' }, profile, token);
  });

  it('answers a caller no rule admits alike for a real and a made-up target (finding 2)', async () => {
    const stranger = await attack.valid({ sub: '100000000000000000099', email: undefined });
    const request = (audience: string) => ({ audience, scope: profile.request.scope as string });

    const real = await exchange(stranger, request(profile.request.audience));
    const madeUp = await exchange(stranger, request('payroll-admin'));

    expect(real.status).toBe(403);
    expect(madeUp.status).toBe(real.status);
    expect(madeUp.json?.error).toBe(real.json?.error);
    expect(madeUp.json?.error_description).toBe(
      String(real.json?.error_description).replace(profile.request.audience, 'payroll-admin'),
    );
    expect(sandbox.output()).toMatch(/"reason":"unknown_target"/);
  });

  it('grants a valid token whose other claims are URLs, without fetching any of them', async () => {
    const answer = await exchange(
      await attack.valid({
        picture: `${tripwire.url}/p.png`,
        hd: tripwire.httpsUrl,
        jwks_uri: `${tripwire.httpsUrl}/jwks`,
        google: { compute_engine: { instance_name: `${tripwire.url}/vm` } },
        nbf: now() - 5,
      }),
    );

    expect(answer.status).toBe(200);
  });

  it('contacted no URL planted in any token (SSRF: iss, jku, x5u, jwk, claims)', () => {
    expect(seen.size).toBeGreaterThan(60);
    expect(tripwire.connections()).toBe(0);
  });

  it('kept every token, and anything JWT-shaped, out of the logs', () => {
    const output = sandbox.output();

    expect(output).toContain('"event":"token.decision"');
    for (const token of seen) if (token.length > 20) expect(output).not.toContain(token.trim().slice(0, 60));
    expect(output).not.toMatch(JWT_SHAPED);
  });
});

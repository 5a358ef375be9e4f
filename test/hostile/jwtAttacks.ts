// The 64 JWT attack cases of perf-reliability.md §2.5 (#0–#63), plus the key-publication cases of §4.2
// B8, written once for every JWT caller path (issue 7). A caller path supplies a profile (how its
// issuer mints, what an admitted caller's claims are, how its verifier words each refusal) and runs
// them with `runJwtAttackCases` from its own test file; its own extra cases sit in that file.
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Answer, HostileSandbox, Tripwire } from './kit.js';
import { type IssuerControl, isContractError, JWT_SHAPED, useSandboxAndTripwire } from './kit.js';

/** Why a token is refused, in the verifier's own vocabulary (the profile words each). */
export type Refusal =
  | 'algorithm'
  | 'unknownKey'
  | 'signature'
  | 'notJwt'
  | 'expired'
  | 'notYetValid'
  | 'issuedAt'
  | 'audience'
  | 'manyAudiences'
  | 'issuer'
  | 'lifetime'
  | 'noKid'
  | { claim: string }
  | { shape: string };

export type Expectation =
  | { status: 200 }
  | { status: 400 | 401; refusal: Refusal }
  | { status: 400 | 401 | 403; error: string; description: string };

/** Keys the profile publishes in its issuer's JWKS before the broker first reads it. */
export interface AttackKeys {
  /** An RS256 key and an ES256 key, both published; one of them is the issuer's own family. */
  rs256: string;
  es256: string;
  /** A published 1024-bit RSA key (RFC 8725 §3.5: too weak). */
  weakRsa: string;
  /** RS256 keys published with `use: "enc"`, with `key_ops: ["encrypt"]`, and with `alg: "PS256"`. */
  encryptionUse: string;
  encryptOnlyOps: string;
  otherAlg: string;
  /** An RS256 key the issuer holds but never publishes. */
  unpublished: string;
}

export interface JwtCallerProfile {
  /** The caller kind, for test titles. */
  name: string;
  /** The issuer's admin routes. */
  issuer: IssuerControl;
  /** Algorithms the verifier allows for this issuer. */
  algorithms: readonly string[];
  /** Which of the two published families the issuer itself signs with. */
  nativeAlgorithm: 'RS256' | 'ES256';
  /** The broker's clock skew and the issuer's maximum lifetime, in seconds (config). */
  skewSeconds: number;
  maxLifetimeSeconds: number;
  /** The broker's audience: what `aud` must be. */
  audience: string;
  /** Claims of a valid token that a rule admits, issued at `now` (seconds). */
  claims(now: number): Record<string, unknown>;
  /** Where the admitted caller may go. */
  request: { audience: string; scope?: string };
  keys: AttackKeys;
  /** The verifier's exact `error_description` for each refusal. */
  describe(refusal: Refusal): string;
  /** Cases whose answer this profile's issuer rules change, by case id, each with the reason in a comment. */
  overrides?: Readonly<Record<string, Expectation>>;
}

export interface AttackCase {
  /** `#n` of perf-reliability.md §2.5, or the §4.2 row. */
  id: string;
  title: string;
  token(kit: AttackKit): Promise<string>;
  expect: Expectation | ((profile: JwtCallerProfile) => Expectation);
}

export interface AttackKit {
  profile: JwtCallerProfile;
  tripwire: Tripwire;
  now: number;
  /** A validly signed token: the admitted claims with `overrides` (undefined removes a claim). */
  valid(overrides?: Record<string, unknown>, header?: Record<string, unknown>, kid?: string): Promise<string>;
  /** A validly signed token from exact header and payload bytes. */
  raw(headerJson: string, payloadJson: string, kid?: string): Promise<string>;
  /** The issuer's published public key with this kid. */
  publicJwk(kid: string): Promise<Record<string, unknown>>;
}

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64url');
const segments = (token: string) => token.split('.') as [string, string, string];
const withSignature = (token: string, signature: string): string => {
  const [h, p] = segments(token);
  return `${h}.${p}.${signature}`;
};
// P-256's group order, for the malleated signature (r, n − s) of §2.5 #53.
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const toHex = (value: bigint) => value.toString(16).padStart(64, '0');

function malleate(signature: string): string {
  const raw = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  return Buffer.concat([raw.subarray(0, 32), Buffer.from(toHex(P256_ORDER - s), 'hex')]).toString(
    'base64url',
  );
}

/** IEEE P1363 (r ‖ s) to ASN.1 DER, the encoding JWS forbids (RFC 7518 §3.4). */
function toDer(signature: string): string {
  const raw = Buffer.from(signature, 'base64url');
  const integer = (bytes: Buffer) => {
    let trimmed = bytes;
    while (trimmed.length > 1 && trimmed[0] === 0 && (trimmed[1] as number) < 0x80)
      trimmed = trimmed.subarray(1);
    const body = (trimmed[0] as number) >= 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed;
    return Buffer.concat([Buffer.of(0x02, body.length), body]);
  };
  const sequence = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.of(0x30, sequence.length), sequence]).toString('base64url');
}

const inFamily = (profile: JwtCallerProfile, alg: string) => profile.algorithms.includes(alg);
const acceptIf =
  (alg: string, otherwise: Refusal) =>
  (profile: JwtCallerProfile): Expectation =>
    inFamily(profile, alg) ? { status: 200 } : { status: 401, refusal: otherwise };
const refuse = (refusal: Refusal): Expectation => ({ status: 401, refusal });
const shape = (reason: string): Expectation => refuse({ shape: reason });
const bodyTooLarge: Expectation = {
  status: 400,
  error: 'invalid_request',
  description: 'The request body is too large.',
};

/** An HS256 token keyed with the issuer's public key: the algorithm-confusion forgery (§2.5 #4–#5). */
async function keyConfusion(k: AttackKit, encoding: 'pem' | 'jwk-json'): Promise<string> {
  const jwk = await k.publicJwk(nativeKid(k.profile));
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const secret =
    encoding === 'pem' ? String(key.export({ type: 'spki', format: 'pem' })) : JSON.stringify(jwk);
  const header = b64(`{"alg":"HS256","kid":"${nativeKid(k.profile)}","typ":"JWT"}`);
  const payload = b64(JSON.stringify(k.profile.claims(k.now)));
  return `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
}

/** The kid of the key the issuer itself signs with. */
const nativeKid = (profile: JwtCallerProfile): string =>
  profile.nativeAlgorithm === 'ES256' ? profile.keys.es256 : profile.keys.rs256;
/** Header JSON for a raw token: the key's own algorithm and kid, then `fields` over them. */
const header = (k: AttackKit, fields: Record<string, unknown>, kid = nativeKid(k.profile)) =>
  JSON.stringify({ alg: kid === k.profile.keys.es256 ? 'ES256' : 'RS256', kid, typ: 'JWT', ...fields });
const payloadOf = (k: AttackKit, overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ ...k.profile.claims(k.now), ...overrides });

/** The JWT verifiers' words for each refusal (shared/callers/jwtCaller.ts, jwtShape.ts, the dispatcher). */
export function describeRefusal(words: { audienceName: string; maxLifetimeSeconds: number }) {
  return (refusal: Refusal): string => {
    if (typeof refusal === 'object') {
      return 'shape' in refusal
        ? `The subject token was refused: ${refusal.shape}.`
        : `The subject token's '${refusal.claim}' claim is missing or invalid.`;
    }
    return {
      algorithm: 'The subject token uses an algorithm that is not allowed.',
      unknownKey: 'The subject token is signed with an unknown key.',
      signature: "The subject token's signature does not verify.",
      notJwt: 'The subject token is not a valid JWT.',
      expired: 'The subject token has expired.',
      notYetValid: 'The subject token is not valid yet.',
      issuedAt: 'The subject token was issued in the future or is too old.',
      audience: `The subject token's audience is not ${words.audienceName}.`,
      manyAudiences: 'The subject token names more than one audience.',
      issuer: "The subject token's issuer is not accepted by this broker.",
      lifetime: `The subject token's lifetime is longer than ${words.maxLifetimeSeconds} seconds.`,
      noKid: "The subject token's header names no signing key ('kid').",
    }[refusal];
  };
}

/** Publishes the keys every profile's cases need; call before the broker first reads the issuer's JWKS. */
export async function publishAttackKeys(issuer: IssuerControl): Promise<AttackKeys> {
  const [rs256, es256, weakRsa, encryptionUse, encryptOnlyOps, otherAlg, unpublished] = await Promise.all([
    issuer.addKey({ alg: 'RS256' }),
    issuer.addKey({ alg: 'ES256' }),
    issuer.addKey({ alg: 'RS256', modulusLength: 1024 }),
    issuer.addKey({ alg: 'RS256', jwkFields: { use: 'enc' } }),
    issuer.addKey({ alg: 'RS256', jwkFields: { key_ops: ['encrypt'] } }),
    issuer.addKey({ alg: 'RS256', jwkFields: { alg: 'PS256' } }),
    issuer.addKey({ alg: 'RS256', publish: false }),
  ]);
  return { rs256, es256, weakRsa, encryptionUse, encryptOnlyOps, otherAlg, unpublished };
}

/** The kit the cases mint with: the profile's issuer, its native key unless told, its published JWKS. */
export function createAttackKit(profile: JwtCallerProfile, tripwire: Tripwire, jwksUrl: string): AttackKit {
  return {
    profile,
    tripwire,
    now: Math.floor(Date.now() / 1000),
    valid: (overrides = {}, header = {}, kid = nativeKid(profile)) =>
      profile.issuer.mint({
        claims: { ...profile.claims(Math.floor(Date.now() / 1000)), ...overrides },
        header,
        kid,
      }),
    raw: (headerJson, payloadJson, kid = nativeKid(profile)) =>
      profile.issuer.mint({ headerJson, payloadJson, kid }),
    publicJwk: async (kid) => {
      const jwks = (await (await fetch(jwksUrl)).json()) as { keys: Array<Record<string, unknown>> };
      const jwk = jwks.keys.find((key) => key.kid === kid);
      if (!jwk) throw new Error(`no published key ${kid}`);
      return jwk;
    },
  };
}

/** §2.5 #0–#63 and §4.2 B8, each with the broker's contract answer. */
export const JWT_ATTACK_CASES: readonly AttackCase[] = [
  {
    id: '#0',
    title: 'a valid ES256 token',
    token: (k) => k.valid({}, {}, k.profile.keys.es256),
    expect: acceptIf('ES256', 'algorithm'),
  },
  {
    id: '#1',
    title: 'a valid RS256 token',
    token: (k) => k.valid({}, {}, k.profile.keys.rs256),
    expect: acceptIf('RS256', 'algorithm'),
  },
  {
    id: '#2',
    title: 'alg none with an empty signature',
    token: async (k) => `${b64(header(k, { alg: 'none' }))}.${b64(payloadOf(k))}.`,
    expect: shape('the subject token has an empty or non-base64url segment'),
  },
  {
    // #2 stops at the shape check; this one reaches the algorithm check with the lower-case name.
    id: '#2b',
    title: 'alg none with a signature',
    token: async (k) => `${b64(header(k, { alg: 'none' }))}.${b64(payloadOf(k))}.AAAA`,
    expect: refuse('algorithm'),
  },
  {
    id: '#3',
    title: 'alg NONE with a signature',
    token: async (k) => `${b64(header(k, { alg: 'NONE' }))}.${b64(payloadOf(k))}.AAAA`,
    expect: refuse('algorithm'),
  },
  {
    id: '#4',
    title: "HS256 keyed with the issuer's public key PEM (key confusion)",
    token: (k) => keyConfusion(k, 'pem'),
    expect: refuse('algorithm'),
  },
  {
    id: '#5',
    title: "HS256 keyed with the issuer's public JWK JSON (the broker never allows HS*)",
    token: (k) => keyConfusion(k, 'jwk-json'),
    expect: refuse('algorithm'),
  },
  {
    id: '#6',
    title: "a valid token of the other family's algorithm than the issuer's",
    token: (k) =>
      k.valid({}, {}, k.profile.nativeAlgorithm === 'RS256' ? k.profile.keys.es256 : k.profile.keys.rs256),
    expect: (p) =>
      inFamily(p, p.nativeAlgorithm === 'RS256' ? 'ES256' : 'RS256') ? { status: 200 } : refuse('algorithm'),
  },
  {
    id: '#7',
    title: 'the issuer\'s algorithm in lower case ("rs256") over a real signature',
    token: (k) => k.raw(header(k, { alg: k.profile.nativeAlgorithm.toLowerCase() }), payloadOf(k)),
    expect: refuse('algorithm'),
  },
  {
    id: '#8',
    title: "PS256 signed with an RS256 key's private key",
    token: (k) =>
      k.profile.issuer.mint({ claims: k.profile.claims(k.now), kid: k.profile.keys.rs256, alg: 'PS256' }),
    expect: (p) => refuse(inFamily(p, 'PS256') ? 'unknownKey' : 'algorithm'),
  },
  ...[
    ['#9', 'a path-like kid', '../../../dev/null'],
    ['#10', 'an SQL-like kid', "' OR '1'='1"],
  ].map(
    ([id, title, kid]): AttackCase => ({
      id: id as string,
      title: title as string,
      token: (k) => k.valid({}, { kid }),
      expect: refuse('unknownKey'),
    }),
  ),
  {
    id: '#11',
    title: 'a numeric kid',
    token: (k) => k.raw(header(k, { kid: 1 }), payloadOf(k)),
    expect: refuse('noKid'),
  },
  {
    id: '#12',
    title: "an RSA key's kid on an ES256 signature",
    token: (k) =>
      k.raw(header(k, { alg: 'ES256' }, k.profile.keys.rs256), payloadOf(k), k.profile.keys.es256),
    expect: (p) => refuse(inFamily(p, 'ES256') ? 'unknownKey' : 'algorithm'),
  },
  {
    id: '#13',
    title: 'no kid (the issuer always names its key)',
    token: (k) => k.valid({}, { kid: null }, k.profile.keys.es256),
    expect: refuse('noKid'),
  },
  {
    id: '#14',
    title: 'no kid while several RSA keys are published',
    token: (k) => k.valid({}, { kid: null }, k.profile.keys.rs256),
    expect: refuse('noKid'),
  },
  ...(['jku', 'x5u'] as const).map(
    (name, i): AttackCase => ({
      id: `#${15 + i}`,
      title: `a ${name} header pointing at the tripwire, signed by an unpublished key`,
      token: (k) =>
        k.valid({}, { [name]: `${k.tripwire.httpsUrl}/keys`, kid: 'attacker' }, k.profile.keys.unpublished),
      expect: shape(`the subject token's header carries '${name}', which this broker never uses`),
    }),
  ),
  {
    id: '#17',
    title: 'an embedded jwk header holding the signing key',
    token: async (k) => {
      const { unpublished } = k.profile.keys;
      const jwk = await k.publicJwk(nativeKid(k.profile));
      return k.valid({}, { jwk: { ...jwk, kid: unpublished } }, unpublished);
    },
    expect: shape("the subject token's header carries 'jwk', which this broker never uses"),
  },
  {
    id: '#18',
    title: 'an x5c header with a certificate chain',
    token: (k) => k.valid({}, { x5c: ['MIIBszCCAVmgAwIBAgIUJ'] }, k.profile.keys.unpublished),
    expect: shape("the subject token's header carries 'x5c', which this broker never uses"),
  },
  {
    id: '#19',
    title: 'jku and x5u on a token the issuer really signed, with its own kid',
    token: (k) => k.valid({}, { jku: `${k.tripwire.httpsUrl}/jwks`, x5u: `${k.tripwire.url}/x5u` }),
    expect: shape("the subject token's header carries 'jku', which this broker never uses"),
  },
  ...[
    ['#20', 'crit naming a registered claim (["exp"])', ['exp']],
    ['#21', 'crit naming an unknown extension (["foo"])', ['foo']],
    ['#22', 'an empty crit ([])', []],
  ].map(
    ([id, title, crit]): AttackCase => ({
      id: id as string,
      title: title as string,
      token: (k) => k.valid({}, { crit }),
      expect: refuse('notJwt'),
    }),
  ),
  {
    id: '#23',
    title: 'b64: false with crit ["b64"] in a JWT',
    token: (k) => k.valid({}, { b64: false, crit: ['b64'] }),
    expect: refuse('notJwt'),
  },
  {
    id: '#24',
    title: 'a validly signed token of 1.3 MB',
    token: (k) => k.valid({ pad: 'x'.repeat(1_300_000) }, {}),
    expect: bodyTooLarge,
  },
  {
    id: '#24b',
    title: 'a validly signed token just over the token cap (inside the body cap)',
    token: (k) => k.valid({ pad: 'x'.repeat(8_000) }, {}),
    expect: shape('the subject token is larger than 8192 bytes'),
  },
  {
    id: '#25',
    title: 'a 1 MB junk header',
    token: async (k) => `${b64(header(k, { junk: 'x'.repeat(1_000_000) }))}.${b64(payloadOf(k))}.AAAA`,
    expect: bodyTooLarge,
  },
  {
    id: '#25b',
    title: 'a junk header just over the token cap',
    token: async (k) => `${b64(header(k, { junk: 'x'.repeat(7_000) }))}.${b64(payloadOf(k))}.AAAA`,
    expect: shape('the subject token is larger than 8192 bytes'),
  },
  {
    id: '#26',
    title: 'a nested JWT (cty JWT, the payload a JWS)',
    token: async (k) => {
      const inner = await k.valid({}, {});
      return k.raw(header(k, { cty: 'JWT' }), inner);
    },
    expect: shape("the subject token's payload is not JSON"),
  },
  {
    id: '#27',
    title: 'exp an hour ago',
    token: (k) => k.valid({ iat: k.now - 7200, exp: k.now - 3600 }),
    expect: refuse('expired'),
  },
  {
    id: '#28',
    title: 'exp just past, inside the clock skew',
    token: (k) => k.valid({ iat: k.now - 1800, exp: k.now - Math.floor(k.profile.skewSeconds / 3) }),
    expect: { status: 200 },
  },
  {
    id: '#29',
    title: 'exp past by more than the clock skew',
    token: (k) => k.valid({ iat: k.now - 1800, exp: k.now - k.profile.skewSeconds - 10 }),
    expect: refuse('expired'),
  },
  {
    id: '#30',
    title: 'exp missing',
    token: (k) => k.valid({ exp: undefined }),
    expect: refuse({ claim: 'exp' }),
  },
  {
    id: '#31',
    title: 'exp null (jose requires exp only when told)',
    token: (k) => k.valid({ exp: null }),
    expect: refuse({ claim: 'exp' }),
  },
  {
    id: '#32',
    title: 'exp as a string',
    token: (k) => k.valid({ exp: String(k.now + 600) }),
    expect: refuse({ claim: 'exp' }),
  },
  {
    id: '#33',
    title: 'exp ten years ahead',
    token: (k) => k.valid({ iat: k.now, exp: k.now + 10 * 365 * 86_400 }),
    expect: refuse('lifetime'),
  },
  {
    id: '#34',
    title: 'exp = 1e300',
    token: (k) => k.valid({ iat: k.now, exp: 1e300 }),
    expect: refuse('lifetime'),
  },
  {
    id: '#35',
    title: 'nbf five minutes ahead',
    token: (k) => k.valid({ nbf: k.now + 300 }),
    expect: refuse('notYetValid'),
  },
  {
    id: '#36',
    title: 'nbf just ahead, inside the clock skew',
    token: (k) => k.valid({ nbf: k.now + Math.floor(k.profile.skewSeconds / 3) }),
    expect: { status: 200 },
  },
  {
    id: '#37',
    title: 'iat ahead by more than the clock skew',
    token: (k) => k.valid({ iat: k.now + k.profile.skewSeconds + 30, exp: k.now + 1800 }),
    expect: refuse('issuedAt'),
  },
  {
    id: '#38',
    title: 'iat five minutes ahead',
    token: (k) => k.valid({ iat: k.now + 300, exp: k.now + 1800 }),
    expect: refuse('issuedAt'),
  },
  {
    id: '#39',
    title: 'iat older than the maximum token age',
    // The broker allows an age of lifetime + skew, and jose adds its clock tolerance on top.
    token: (k) =>
      k.valid({
        iat: k.now - k.profile.maxLifetimeSeconds - 2 * k.profile.skewSeconds - 60,
        exp: k.now + 60,
      }),
    expect: refuse('issuedAt'),
  },
  {
    id: '#40',
    title: "aud an array holding the broker's audience and another",
    token: (k) => k.valid({ aud: [k.profile.audience, 'https://elsewhere.example'] }),
    expect: refuse('manyAudiences'),
  },
  {
    id: '#41',
    title: 'aud absent',
    token: (k) => k.valid({ aud: undefined }),
    expect: refuse({ claim: 'aud' }),
  },
  ...[
    ['#42', 'aud the empty string', ''],
    ['#43', 'aud an empty array', []],
    ['#44', 'aud with a trailing slash', (p: JwtCallerProfile) => `${p.audience}/`],
    ['#45', 'aud in another letter case', (p: JwtCallerProfile) => p.audience.toUpperCase()],
  ].map(
    ([id, title, aud]): AttackCase => ({
      id: id as string,
      title: title as string,
      token: (k) => k.valid({ aud: typeof aud === 'function' ? aud(k.profile) : aud }),
      expect: refuse('audience'),
    }),
  ),
  {
    id: '#46',
    title: 'iss with a trailing slash',
    token: (k) => k.valid({ iss: `${String(k.profile.claims(k.now).iss)}/` }),
    expect: refuse('issuer'),
  },
  {
    id: '#47',
    title: 'iss over http://',
    token: (k) => k.valid({ iss: String(k.profile.claims(k.now).iss).replace(/^https:/, 'http:') }),
    expect: refuse('issuer'),
  },
  {
    id: '#48',
    title: 'a duplicate sub in the payload (jose keeps the last)',
    token: (k) => {
      const claims = k.profile.claims(k.now);
      const payload = JSON.stringify(claims).replace(/^\{/, `{"sub":"someone-else",`);
      return k.raw(header(k, {}), payload);
    },
    expect: shape("the subject token's payload repeats the name 'sub'"),
  },
  {
    id: '#49',
    title: 'a duplicate alg in the header (HS256, then the real one)',
    token: (k) => k.raw(header(k, {}).replace(/^\{/, '{"alg":"HS256",'), payloadOf(k)),
    expect: shape("the subject token's header repeats the name 'alg'"),
  },
  {
    id: '#50',
    title: 'a __proto__ member in the payload',
    token: (k) => k.raw(header(k, {}), payloadOf(k).replace(/\}$/, ',"__proto__":{"admin":true}}')),
    expect: shape("the subject token's claim '__proto__' uses a reserved name"),
  },
  {
    id: '#51',
    title: 'a DER-encoded ES256 signature',
    token: async (k) => {
      const token = await k.valid({}, {}, k.profile.keys.es256);
      return withSignature(token, toDer(segments(token)[2]));
    },
    expect: (p) => refuse(inFamily(p, 'ES256') ? 'signature' : 'algorithm'),
  },
  {
    id: '#52',
    title: "an all-zero signature of the issuer's length (CVE-2022-21449 shape)",
    token: async (k) => {
      const token = await k.valid({}, {});
      return withSignature(
        token,
        Buffer.alloc(Buffer.from(segments(token)[2], 'base64url').length).toString('base64url'),
      );
    },
    expect: refuse('signature'),
  },
  {
    id: '#53',
    title: 'a malleated ECDSA signature (r, n − s): valid, never a replay key',
    token: async (k) => {
      const token = await k.valid({}, {}, k.profile.keys.es256);
      return withSignature(token, malleate(segments(token)[2]));
    },
    expect: acceptIf('ES256', 'algorithm'),
  },
  {
    id: '#54',
    title: 'a truncated signature',
    token: async (k) => {
      const token = await k.valid();
      const signature = Buffer.from(segments(token)[2], 'base64url');
      return withSignature(token, signature.subarray(0, -6).toString('base64url'));
    },
    expect: refuse('signature'),
  },
  {
    id: '#54b',
    title: 'a signature cut mid-character, the bits left over in its last character set',
    token: async (k) => {
      const token = await k.valid();
      const signature = segments(token)[2];
      // Three characters in the last group carry two bytes and two bits no encoder sets: `B` sets one.
      return withSignature(token, `${signature.slice(0, 4 * Math.floor(signature.length / 4) - 2)}B`);
    },
    expect: shape('the subject token has an empty or non-base64url segment'),
  },
  {
    id: '#55',
    title: '"=" padding on the signature',
    token: async (k) => `${await k.valid()}==`,
    expect: shape('the subject token has an empty or non-base64url segment'),
  },
  {
    id: '#56',
    title: 'the standard base64 alphabet ("+" and "/")',
    token: async (k) =>
      (await k.valid())
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .replace(/\.([^.]*)$/, '.+/$1'),
    expect: shape('the subject token has an empty or non-base64url segment'),
  },
  {
    id: '#57',
    title: 'four segments',
    token: async (k) => `${await k.valid()}.AAAA`,
    expect: shape('the subject token is not a compact JWS (three segments)'),
  },
  {
    id: '#58',
    title: 'five segments (JWE-shaped)',
    token: async (k) => `${await k.valid()}.AAAA.AAAA`,
    expect: shape('the subject token is not a compact JWS (three segments)'),
  },
  {
    id: '#59',
    title: 'leading and trailing whitespace (never trimmed)',
    token: async (k) => ` ${await k.valid()}\t`,
    expect: shape('the subject token has an empty or non-base64url segment'),
  },
  {
    id: '#60',
    title: 'a payload that is a JSON array',
    token: (k) => k.raw(header(k, {}), JSON.stringify([k.profile.claims(k.now)])),
    expect: shape("the subject token's payload is not a JSON object"),
  },
  {
    id: '#61',
    title: 'RS256 from a published 1024-bit RSA key (401, not 500)',
    token: (k) => k.valid({}, {}, k.profile.keys.weakRsa),
    expect: refuse('notJwt'),
  },
  {
    id: '#62',
    title: 'typ at+jwt where JWT is required',
    token: (k) => k.valid({}, { typ: 'at+jwt' }),
    expect: refuse({ claim: 'typ' }),
  },
  {
    id: '#63',
    title: 'sub holding a newline',
    token: (k) => k.valid({ sub: `${String(k.profile.claims(k.now).sub)}\nadmin` }),
    expect: shape("the subject token's claim 'sub' contains a control character or line separator"),
  },
  {
    id: 'C1 (iat)',
    title: 'iat missing (jose requires iat only when told)',
    token: (k) => k.valid({ iat: undefined }),
    expect: refuse({ claim: 'iat' }),
  },
  ...[
    ['B8 use', 'a key published with use "enc"', 'encryptionUse'],
    ['B8 key_ops', 'a key published with key_ops ["encrypt"]', 'encryptOnlyOps'],
    ['B8 alg', 'a key published for PS256, signing RS256', 'otherAlg'],
    ['B4 unpublished', 'a key the issuer never published', 'unpublished'],
  ].map(
    ([id, title, key]): AttackCase => ({
      id: id as string,
      title: title as string,
      token: (k) => k.valid({}, {}, k.profile.keys[key as keyof AttackKeys]),
      expect: refuse('unknownKey'),
    }),
  ),
];

/**
 * Runs every case of `cases` against the sandbox: the exact contract answer for each, then that no
 * URL planted in any token was contacted. Call inside a `describe`; `kit()` is read when tests run.
 */
export function runJwtAttackCases(
  cases: readonly AttackCase[],
  kit: () => { sandbox: HostileSandbox; attack: AttackKit },
  seen: Set<string>,
): void {
  it.each(cases.map((c) => [c.id, c.title, c] as const))('%s %s', async (_id, _title, attackCase) => {
    const { sandbox, attack } = kit();
    const { profile } = attack;
    const token = await attackCase.token({ ...attack, now: Math.floor(Date.now() / 1000) });
    seen.add(token);
    const expected =
      profile.overrides?.[attackCase.id] ??
      (typeof attackCase.expect === 'function' ? attackCase.expect(profile) : attackCase.expect);

    const answer = await sandbox.exchange({ subject_token: token, ...profile.request });

    expectAnswer(answer, expected, profile, token);
  });
}

/** Asserts the contract answer `expected`, and that nothing of the token comes back. */
export function expectAnswer(
  answer: Answer,
  expected: Expectation,
  profile: JwtCallerProfile,
  token: string,
): void {
  if (expected.status === 200) {
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    return;
  }
  const body =
    'refusal' in expected
      ? {
          error: expected.status === 401 ? 'invalid_grant' : 'invalid_request',
          error_description: profile.describe(expected.refusal),
        }
      : { error: expected.error, error_description: expected.description };
  expect({ status: answer.status, body: answer.json }).toEqual({ status: expected.status, body });
  expect(isContractError(answer)).toBe(true);
  // Never an echo: no run of the token's payload (or of the token, when it has no payload) comes back.
  const probe = (segments(token)[1] || token).trim().slice(0, 40);
  if (probe.length >= 16) expect(answer.text).not.toContain(probe);
}

/**
 * A caller path's own tokens: each a valid token with `overrides`, refused with `description`; then that
 * no URL planted in any token was contacted and no token reached the log.
 */
export function runOwnRefusals(
  cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]>,
  kit: () => { sandbox: HostileSandbox; attack: AttackKit },
  seen: Set<string>,
): void {
  it.each(cases)('refuses %s, validly signed', async (_name, overrides, description) => {
    const { sandbox, attack } = kit();
    const token = await attack.valid(overrides);
    seen.add(token);

    const answer = await sandbox.exchange({ subject_token: token, ...attack.profile.request });

    expectAnswer(answer, { status: 401, error: 'invalid_grant', description }, attack.profile, token);
  });

  it('contacted no URL planted in any token, and logged none of them', () => {
    const { sandbox, attack } = kit();
    expect(seen.size).toBeGreaterThan(cases.length);
    expect(attack.tripwire.connections()).toBe(0);
    const output = sandbox.output();
    // The broker's lines are in the output looked at, and none holds a token or anything JWT-shaped.
    expect(output).toContain('"event":"token.decision"');
    for (const token of seen) if (token.length > 40) expect(output).not.toContain(token.trim().slice(0, 60));
    expect(output).not.toMatch(JWT_SHAPED);
  });
}

/**
 * A JWT caller path's whole hostile file in one call: the sandbox and a tripwire for the file, the
 * profile built once they run, the §2.5 catalogue, and the path's own refusals with the tripwire and log
 * checks. `makeProfile` publishes the profile's keys before the broker first reads its issuer's keys.
 */
export function describeJwtCallerPath(
  name: string,
  makeProfile: (sandbox: HostileSandbox) => Promise<{ profile: JwtCallerProfile; jwksUrl: string }>,
  ownCases: ReadonlyArray<readonly [string, Record<string, unknown>, string]>,
): void {
  const running = useSandboxAndTripwire();
  const seen = new Set<string>();
  let attack: AttackKit;
  const kit = () => ({ sandbox: running.sandbox, attack });
  beforeAll(async () => {
    const { profile, jwksUrl } = await makeProfile(running.sandbox);
    attack = createAttackKit(profile, running.tripwire, jwksUrl);
  });
  describe(`the ${name} caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8`, () => {
    runJwtAttackCases(JWT_ATTACK_CASES, kit, seen);
  });
  describe(`the ${name} caller path against its own hostile tokens`, () => {
    runOwnRefusals(ownCases, kit, seen);
  });
}

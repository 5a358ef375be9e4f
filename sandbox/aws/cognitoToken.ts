// Cognito's OpenID tokens (protocols.md §C.3): the issuer `https://cognito-identity.amazonaws.com`, its keys,
// the JWS header (option, default as observed), the claims, and verification of tokens it issued itself.
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { createOidcIssuer, type OidcIssuer } from '../lib/oidcIssuer.js';

/** The real issuer; never rewritten (Entra and other verifiers reach the stand-in through overrides). */
export const COGNITO_ISSUER = 'https://cognito-identity.amazonaws.com';
/** Cognito's JWKS path, `https://cognito-identity.amazonaws.com/.well-known/jwks_uri` (§C.3, [doc] A2). */
export const COGNITO_JWKS_PATH = '/.well-known/jwks_uri';
/** Claim naming the identity pool's ARN. */
export const POOL_ARN_CLAIM = 'https://cognito-identity.amazonaws.com/identity-pool-arn';
/** Claim carrying principal tags, in the shape STS reads session tags from a web identity token. */
export const TAGS_CLAIM = 'https://aws.amazon.com/tags';

/**
 * The JWS header of issued tokens. Default `{typ: "JWS", alg: "RS512"}` as observed on real tokens
 * (§C.3: speakerdeck slide, aws-sdk-net#420's token header `{"kid":"us-east-11","typ":"JWS","alg":"RS512"}`);
 * UNCONFIRMED whether AWS still signs so, and Entra's rules in §A.6 may refuse both values.
 */
export interface CognitoTokenHeader {
  typ?: string;
  alg?: 'RS256' | 'RS384' | 'RS512';
}

/** What a token says about its identity. */
export interface TokenSubject {
  identityId: string;
  poolId: string;
  account: string;
  region: string;
  /** `["unauthenticated"]`, or `["authenticated", provider, "<provider>:<app or pool id>:<user>"]`. */
  amr: readonly string[];
  lifetimeSeconds: number;
  principalTags?: Readonly<Record<string, string>>;
}

/** Signs and verifies Cognito tokens; `issuer` is the generic stand-in issuer serving discovery and JWKS. */
export interface CognitoSigner {
  readonly issuer: OidcIssuer;
  readonly header: Required<CognitoTokenHeader> & { kid: string };
  /** Signs the claims of `subject` at `nowMs`; returns the compact JWS. */
  mint(subject: TokenSubject, nowMs: number): string;
  /** Verifies a token this stand-in issued (signature, issuer, expiry at `nowMs`); undefined when refused. */
  verifyOwn(token: string, nowMs: number): Promise<JWTPayload | undefined>;
}

/** The identity pool's ARN, `arn:aws:cognito-identity:<region>:<account>:identitypool/<pool id>`. */
export const poolArn = (region: string, account: string, poolId: string): string =>
  `arn:aws:cognito-identity:${region}:${account}:identitypool/${poolId}`;

/**
 * The claims in the order real tokens show them (sub, aud, amr, iss, identity-pool-arn, exp, iat; §C.3).
 * Principal tags appear only when the caller passed some, as `{"principal_tags": {"<key>": ["<value>"]}}`:
 * the session-tag shape STS AssumeRoleWithWebIdentity reads; the exact shape Cognito emits is UNCONFIRMED.
 * The identity-pool-arn claim is observed on a 2024 developer-identity token; a 2022 guest token
 * (aws-jwt-verify#89) lacks it, and whether guests carry it now is UNCONFIRMED (they do here).
 */
export function cognitoClaims(subject: TokenSubject, nowMs: number): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  const tags = subject.principalTags;
  const tagged = tags && Object.keys(tags).length > 0;
  return {
    sub: subject.identityId,
    aud: subject.poolId,
    amr: [...subject.amr],
    iss: COGNITO_ISSUER,
    [POOL_ARN_CLAIM]: poolArn(subject.region, subject.account, subject.poolId),
    ...(tagged
      ? {
          [TAGS_CLAIM]: {
            principal_tags: Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, [v]])),
          },
        }
      : {}),
    exp: iat + subject.lifetimeSeconds,
    iat,
  };
}

/**
 * Creates the signer: one RSA key of the header's `alg`, published with kid `<region>1` (real kids look
 * like `us-east-11`) and `use: "sig"`. The generic issuer's own first key is retired before publishing.
 */
export async function createCognitoSigner(
  region: string,
  header: CognitoTokenHeader = {},
): Promise<CognitoSigner> {
  const alg = header.alg ?? 'RS512';
  const typ = header.typ ?? 'JWS';
  const issuer = await createOidcIssuer({
    issuer: COGNITO_ISSUER,
    algorithm: alg,
    jwksPath: COGNITO_JWKS_PATH,
  });
  const generated = issuer.activeKid;
  const kid = await issuer.addKey({ alg, kid: `${region}1`, activate: true });
  issuer.unpublishKey(generated);
  return {
    issuer,
    header: { kid, typ, alg },
    mint: (subject, nowMs) =>
      // Header members in the observed order: kid, typ, alg.
      issuer.signRaw({
        kid,
        headerJson: JSON.stringify({ kid, typ, alg }),
        claims: cognitoClaims(subject, nowMs),
      }),
    async verifyOwn(token, nowMs) {
      try {
        // The published keys as they are now (a test may rotate them through the issuer).
        const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
          issuer: COGNITO_ISSUER,
          algorithms: [alg],
          currentDate: new Date(nowMs),
        });
        return payload;
      } catch {
        return undefined;
      }
    },
  };
}

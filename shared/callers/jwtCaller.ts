// The pattern every JWT caller verifier follows (issue 4, generalised in issue 8): shape checks, a
// required `kid`, jose with every option pinned (issuer, audience, algorithms, times, maximum age),
// then the claims jose does not check (lifetime, a single audience) and the caller kind's own claims.
// Google, AWS web identity and Cognito verifiers are profiles of it.
import { errors, type JWTHeaderParameters, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import { BrokerError, errorKind } from '../errors.js';
import type { CallerPrincipal, CallerVerifier, CheckedJwt } from './callerVerifier.js';
import { JwksUnavailableError } from './jwksResolver.js';
import { checkSubjectTokenShape } from './jwtShape.js';
import type { CachedCaller, KeyGetter, SigningKeyProof } from './verifiedTokenCache.js';

export interface JwtCallerOptions<P extends CallerPrincipal> {
  /** Exact `iss` values this verifier takes, from configuration. */
  issuers: readonly string[];
  /**
   * Tokens without `iss` this verifier takes (a JWT-SVID needs none: its `sub` names the trust domain);
   * undefined: `iss` is required.
   */
  issuerless?: (unverified: Readonly<Record<string, unknown>>) => boolean;
  /**
   * The signing keys for a token, chosen from configuration by its (unverified) `iss`, or by its `sub`
   * for an issuerless one: key sets are per issuer or trust domain and never pooled (perf §4.2 B5).
   * Undefined refuses the token. It may read `iss` and `sub` only: the verified-token cache asks again
   * with just those two.
   */
  keysFor(unverified: Readonly<Record<string, unknown>>): KeyGetter | undefined;
  /** The audience (or audiences) `aud` must be. */
  audience: string | readonly string[];
  /**
   * What the descriptions call the audience, e.g. "an identity pool this broker trusts"; unless told,
   * "this broker's audience (…)" naming the configured audience.
   */
  audienceName?: string;
  algorithms: readonly string[];
  /** Accepted `typ` header values, compared as jose does (case-insensitive, `application/` optional). */
  typ: readonly string[];
  /** Accept a header without `typ` (Kubernetes and SPIFFE tokens may omit it). */
  typOptional?: boolean;
  /** The only header parameters allowed, when the issuer's spec limits them (JWT-SVID: alg, kid, typ). */
  headerParameters?: readonly string[];
  /** Who issues these tokens, for descriptions: "Google", "AWS", "Cognito". */
  issuerName: string;
  /** Longest accepted `exp − iat`, in seconds. */
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
  /** The caller kind's own claims, `sub` included; throws `refuseCaller(...)` for a claim that does not hold. */
  principalOf(payload: JWTPayload): P;
}

/**
 * The contract's 401 for a caller token, with the audit reason. A cause is kept as its errorKind: jose's
 * claim errors carry the caller's decoded claims (`payload`).
 */
export const refuseCaller = (description: string, cause?: unknown): BrokerError =>
  new BrokerError('invalid_grant', 401, description, {
    cause: cause === undefined ? undefined : errorKind(cause),
    detail: { reason: 'caller_token_invalid' },
  });

const normaliseTyp = (typ: string) => typ.toLowerCase().replace(/^application\//, '');

// One `{alg, kid}` object per signing key the broker has verified with, by algorithm then key id (no
// string built per token to look one up). Only verified tokens reach it, with an allowed `alg` and a `kid`
// that resolved to a key of a configured issuer, so it is as bounded as those key sets are; an
// algorithm's keys are forgotten, should key rotation ever take them past a few thousand.
type KeyHeader = Pick<JWTHeaderParameters, 'alg' | 'kid'>;
const headers = new Map<KeyHeader['alg'], Map<KeyHeader['kid'], KeyHeader>>();
function internHeader(alg: KeyHeader['alg'], kid: KeyHeader['kid']): KeyHeader {
  let byKid = headers.get(alg);
  if (byKid === undefined) {
    byKid = new Map();
    headers.set(alg, byKid);
  }
  const known = byKid.get(kid);
  if (known !== undefined) return known;
  if (byKid.size >= 4096) byKid.clear();
  const header: KeyHeader = Object.freeze({ alg, kid });
  byKid.set(kid, header);
  return header;
}

/** Builds a verifier from a profile. */
export function createJwtCallerVerifier<P extends CallerPrincipal>(
  options: JwtCallerOptions<P>,
): CallerVerifier {
  const typs = new Set(options.typ.map(normaliseTyp));
  const headerParameters = options.headerParameters && new Set(options.headerParameters);
  // jose's options but the time, worked out once: with `iss` checked, and for an issuerless token.
  const pinned = {
    audience: typeof options.audience === 'string' ? options.audience : [...options.audience],
    algorithms: [...options.algorithms],
    clockTolerance: options.clockSkewSeconds,
    maxTokenAge: options.maxLifetimeSeconds + options.clockSkewSeconds,
  };
  const withIssuer = {
    ...pinned,
    issuer: [...options.issuers],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
  };
  const issuerless = { ...pinned, requiredClaims: ['sub', 'aud', 'exp', 'iat'] };
  return {
    issuers: options.issuers,
    ...(options.issuerless ? { issuerless: options.issuerless } : {}),
    async verify(token: string, checked?: CheckedJwt): Promise<CachedCaller> {
      // This verifier's own size limit holds even when the dispatcher checked the shape against its own.
      if (checked && token.length > options.maxTokenBytes)
        throw refuseCaller(
          `The subject token was refused: the subject token is larger than ${options.maxTokenBytes} bytes.`,
        );
      const { header, payload: unverified } =
        checked ?? checkSubjectTokenShape(token, { maxBytes: options.maxTokenBytes });
      // Every issuer the broker trusts names its signing key; without a `kid`, jose would try whichever
      // key fits, so the outcome would hang on how many keys the issuer publishes (perf §2.5 #13–14).
      if (typeof header.kid !== 'string' || header.kid === '')
        throw refuseCaller("The subject token's header names no signing key ('kid').");
      const typOk =
        typeof header.typ === 'string'
          ? typs.has(normaliseTyp(header.typ))
          : header.typ === undefined && options.typOptional === true;
      if (!typOk) throw refuseCaller("The subject token's 'typ' claim is missing or invalid.");
      if (headerParameters)
        for (const name of Object.keys(header))
          if (!headerParameters.has(name))
            throw refuseCaller(
              "The subject token's header carries a parameter its issuer's specification forbids.",
            );
      // The dispatcher picks a verifier by `iss` (or, issuerless, by `sub`); checked again so a key set is
      // only ever asked for its own issuer's tokens.
      const issuer = unverified.iss;
      const withoutIssuer = issuer === undefined && options.issuerless?.(unverified) === true;
      if (!withoutIssuer && (typeof issuer !== 'string' || !options.issuers.includes(issuer)))
        throw refuseCaller(`The subject token was not issued by ${options.issuerName}.`);
      const keys = options.keysFor(unverified);
      if (!keys) throw refuseCaller(`The subject token was not issued by ${options.issuerName}.`);
      let payload: JWTPayload;
      let protectedHeader: JWTHeaderParameters;
      let key: unknown;
      try {
        ({ payload, protectedHeader, key } = await jwtVerify(token, keys, {
          ...(withoutIssuer ? issuerless : withIssuer),
          currentDate: new Date(options.clock.now()),
        }));
      } catch (error) {
        throw mapVerifyError(error, options);
      }
      const { exp, iat, aud } = payload as Required<Pick<JWTPayload, 'exp' | 'iat' | 'aud'>>;
      // jose accepts an `aud` array that contains ours; a token for several audiences is replayable at each.
      if (Array.isArray(aud) && aud.length !== 1)
        throw refuseCaller('The subject token names more than one audience.');
      if (exp - iat > options.maxLifetimeSeconds) {
        throw refuseCaller(
          `The subject token's lifetime is longer than ${options.maxLifetimeSeconds} seconds.`,
        );
      }
      const principal = options.principalOf(payload);
      // What the verified-token cache needs to tell later whether this key is still the issuer's: the key
      // set is chosen again then (a SPIFFE bundle update replaces the set, not just its keys). Key sets
      // choose by the header alone, so the payload and signature are not kept (100,000 entries).
      // The verified payload's strings are the principal's too (the unverified ones are a second copy), and
      // headers are shared: one object per key, not per token.
      const signingKey: SigningKeyProof = {
        keysFor: options.keysFor,
        chooser: { iss: payload.iss, sub: payload.sub },
        header: internHeader(protectedHeader.alg, protectedHeader.kid),
        key,
        // Present from the start, so every entry has one shape whether or not a lookup has noted a set.
        confirmedIn: undefined,
      };
      return { principal, expiresAt: exp, signingKey };
    },
  };
}

/** jose errors become `invalid_grant` keyed on `err.code`; the message never carries the payload. */
function mapVerifyError(error: unknown, options: JwtCallerOptions<CallerPrincipal>): BrokerError {
  if (error instanceof JwksUnavailableError) {
    return new BrokerError(
      'temporarily_unavailable',
      503,
      `${options.issuerName}'s signing keys could not be fetched to verify the subject token; retry later.`,
      { cause: error, retryAfterSeconds: 5, detail: { reason: 'caller_keys_unavailable' } },
    );
  }
  // jose reports an `iat` older than maxTokenAge as JWTExpired too, though `exp` may be hours away.
  if (error instanceof errors.JWTExpired && error.claim === 'iat')
    return refuseCaller('The subject token was issued in the future or is too old.', error);
  if (error instanceof errors.JWTExpired) return refuseCaller('The subject token has expired.', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (error.reason === 'check_failed') {
      if (claim === 'aud') {
        const name =
          options.audienceName ?? `this broker's audience (${[options.audience].flat().join(', ')})`;
        return refuseCaller(`The subject token's audience is not ${name}.`, error);
      }
      if (claim === 'iss')
        return refuseCaller(`The subject token was not issued by ${options.issuerName}.`, error);
      if (claim === 'iat')
        return refuseCaller('The subject token was issued in the future or is too old.', error);
      if (claim === 'nbf') return refuseCaller('The subject token is not valid yet.', error);
    }
    return refuseCaller(`The subject token's '${claim}' claim is missing or invalid.`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return refuseCaller('The subject token uses an algorithm that is not allowed.', error);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return refuseCaller('The subject token is signed with an unknown key.', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuseCaller("The subject token's signature does not verify.", error);
  // jose throws a TypeError, not a JOSEError, for weak keys (perf-reliability.md §2.5 #61).
  if (error instanceof errors.JOSEError || error instanceof TypeError)
    return refuseCaller('The subject token is not a valid JWT.', error);
  return error instanceof BrokerError
    ? error
    : refuseCaller('The subject token could not be verified.', error);
}

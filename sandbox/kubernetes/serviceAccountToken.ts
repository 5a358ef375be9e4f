// A TokenRequest's checks and its token's claims, as kube-apiserver builds them for a projected volume (issue 9).
// Sources: kubernetes/kubernetes pkg/apis/authentication/validation (ValidateTokenRequest),
// pkg/registry/core/serviceaccount/storage/token.go (Create), pkg/serviceaccount/claims.go (Claims).
import { randomUUID } from 'node:crypto';

/** `spec.expirationSeconds` when none is asked: the TokenRequest and projected-volume default. */
export const DEFAULT_EXPIRATION_SECONDS = 3600;
/** validation.go `MinTokenAgeSec = 10 * 60`: a shorter request is refused, never lengthened. */
export const MIN_EXPIRATION_SECONDS = 600;
/** validation.go: "may not specify a duration larger than 2^32 seconds". */
export const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** claims.go `WarnOnlyBoundTokenExpirationSeconds = 60*60 + 7`: what the kube-api-access volume asks for. */
export const WARN_ONLY_EXPIRATION_SECONDS = 3607;
/** claims.go `ExpirationExtensionSeconds = 24 * 365 * 60 * 60`: the lifetime such a token really gets. */
export const EXPIRATION_EXTENSION_SECONDS = 24 * 365 * 3600;

/** A bound object as the token names it (`metadata.name`, `metadata.uid`). */
export interface ObjectRef {
  name: string;
  uid: string;
}

/** What a kubelet (or `kubectl create token`) asks `POST .../serviceaccounts/<name>/token` for. */
export interface ServiceAccountTokenRequest {
  namespace: string;
  serviceAccount: string;
  /** The ServiceAccount's `metadata.uid`; one stable random UUID per account and issuer unless told. */
  serviceAccountUid?: string;
  /** Binds the token to this pod (what the kubelet does for a projected volume). */
  pod?: ObjectRef;
  /**
   * With `pod`: the node the pod is scheduled on (`spec.nodeName`), embedded as information only; a node
   * the API server could not find has no `uid`. Without `pod`: a node-bound token, which needs the `uid`.
   */
  node?: { name: string; uid?: string };
  /** `spec.audiences`; the API server's own audiences (`--api-audiences`) when empty or absent. */
  audiences?: readonly string[];
  /** `spec.expirationSeconds`: 3600 unless told, at least 600, at most 2^32. */
  expirationSeconds?: number;
}

/** A TokenRequest the API server refuses; `status` and `message` are what it answers. */
export class TokenRequestError extends Error {
  readonly status: 400 | 422;

  constructor(status: 400 | 422, message: string) {
    super(message);
    this.name = 'TokenRequestError';
    this.status = status;
  }
}

/** How the issuing API server is configured (its flags), and the time of issue. */
export interface IssueContext {
  issuer: string;
  apiAudiences: readonly string[];
  /** `--service-account-max-token-expiration` in seconds; no cap when absent. */
  maxExpirationSeconds: number | undefined;
  /** `--service-account-extend-token-expiration` (true by default on a real API server). */
  extendExpiration: boolean;
  extendedExpirationSeconds: number;
  nowSeconds: number;
  serviceAccountUid: string;
}

/** The token's claims and the TokenRequest `status.expirationTimestamp` (seconds since the epoch). */
export interface IssuedClaims {
  claims: Record<string, unknown>;
  expirationSeconds: number;
  expirationTimestampSeconds: number;
}

// IsDNS1123Label and IsDNS1123Subdomain, which the API server applies to namespace and account names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// The real answer reads `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: ...`.
const invalid = (field: string, value: unknown, detail: string): TokenRequestError =>
  new TokenRequestError(
    422,
    `TokenRequest.authentication.k8s.io "" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`,
  );

/** Checks a request as ValidateTokenRequest and TokenREST.Create do; returns `spec.expirationSeconds`. */
export function checkTokenRequest(request: ServiceAccountTokenRequest): number {
  if (!DNS_LABEL.test(request.namespace) || request.namespace.length > 63) {
    throw new TokenRequestError(
      400,
      `namespace ${JSON.stringify(request.namespace)} is not a DNS-1123 label`,
    );
  }
  if (!DNS_SUBDOMAIN.test(request.serviceAccount) || request.serviceAccount.length > 253) {
    throw new TokenRequestError(
      400,
      `serviceAccount ${JSON.stringify(request.serviceAccount)} is not a valid name`,
    );
  }
  const seconds = request.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (!Number.isSafeInteger(seconds)) {
    throw invalid('spec.expirationSeconds', seconds, 'must be an integer');
  }
  if (seconds < MIN_EXPIRATION_SECONDS) {
    throw invalid('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes');
  }
  if (seconds > MAX_EXPIRATION_SECONDS) {
    throw invalid('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds');
  }
  if (request.pod && (!request.pod.name || !request.pod.uid)) {
    throw new TokenRequestError(400, 'pod needs both name and uid');
  }
  // token.go: a Node-bound token reads the Node object, so its UID is always known.
  if (!request.pod && request.node && !request.node.uid) {
    throw new TokenRequestError(400, 'a token bound to a node (no pod) needs node.uid');
  }
  return seconds;
}

/** The same value with object members in code-point order, as Go's map-based JSON encoding emits them. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([name, member]) => [name, sortedKeys(member)]));
}

/**
 * Builds the claims claims.go produces (plus `iss`, added by the token generator in jwt.go): `aud` always an
 * array, `exp`, `iat`, `nbf` (= `iat`), `jti` (a random UUID: ServiceAccountTokenJTI, on since 1.30), `sub`
 * `system:serviceaccount:<ns>:<name>`, and `kubernetes.io` {namespace, serviceaccount, pod?, node?,
 * warnafter?}. Node info rides on a pod-bound token as ServiceAccountTokenPodNodeInfo does (on since 1.30).
 * A pod-bound request for exactly 3607 s, for the API server's own audiences, gets the one-year extended
 * `exp` and a `warnafter` at 3607 s when `extendExpiration` is on (token.go). Throws TokenRequestError.
 */
export function issueClaims(request: ServiceAccountTokenRequest, context: IssueContext): IssuedClaims {
  let seconds = checkTokenRequest(request);
  const audiences = request.audiences?.length ? [...request.audiences] : [...context.apiAudiences];
  // token.go: a longer request is shortened to the cap (with a warning), not refused.
  if (context.maxExpirationSeconds !== undefined && seconds > context.maxExpirationSeconds) {
    seconds = context.maxExpirationSeconds;
  }
  let tokenSeconds = seconds;
  let warnAfter: number | undefined;
  const isApiAudience = audiences.every((audience) => context.apiAudiences.includes(audience));
  if (context.extendExpiration && request.pod && seconds === WARN_ONLY_EXPIRATION_SECONDS && isApiAudience) {
    warnAfter = context.nowSeconds + seconds;
    tokenSeconds = context.extendedExpirationSeconds;
  }
  const now = context.nowSeconds;
  const node = request.node && {
    name: request.node.name,
    ...(request.node.uid ? { uid: request.node.uid } : {}),
  };
  const claims = {
    aud: audiences,
    exp: now + tokenSeconds,
    iat: now,
    iss: context.issuer,
    jti: randomUUID(),
    nbf: now,
    sub: `system:serviceaccount:${request.namespace}:${request.serviceAccount}`,
    'kubernetes.io': {
      namespace: request.namespace,
      serviceaccount: { name: request.serviceAccount, uid: context.serviceAccountUid },
      ...(request.pod ? { pod: { name: request.pod.name, uid: request.pod.uid } } : {}),
      ...(node ? { node } : {}),
      ...(warnAfter !== undefined ? { warnafter: warnAfter } : {}),
    },
  };
  return {
    claims: sortedKeys(claims) as Record<string, unknown>,
    expirationSeconds: seconds,
    // token.go: status.expirationTimestamp is now + spec.expirationSeconds, even when `exp` was extended.
    expirationTimestampSeconds: now + seconds,
  };
}

// What every caller verifier yields and the interface the token function dispatches through.
import type { checkJwtShape } from './jwtShape.js';

/** A Google service account (or user), proven by a Google-signed ID token. */
export interface GooglePrincipal {
  kind: 'google';
  /** The token's `iss`, one of Google's two documented forms. */
  issuer: string;
  /** The account's unique id (`sub`): stable across renames, what Entra FICs use. */
  subject: string;
  /** Service-account email, when the token carries a verified one. */
  email: string | undefined;
  /**
   * The service account's home project, from its `…@<project>.iam.gserviceaccount.com` email; undefined for
   * other accounts. Not where the workload runs (`google.compute_engine.project_id` may differ).
   */
  projectId: string | undefined;
}

/** An AWS IAM role session or user, proven by a signed `sts:GetCallerIdentity` that STS answered. */
export interface AwsIamPrincipal {
  kind: 'aws-iam';
  /** The ARN STS answered: `arn:aws:sts::<acct>:assumed-role/<role>/<session>` or `arn:aws:iam::<acct>:user/<path><name>`. */
  subject: string;
  partition: string;
  /** 12 digits. */
  account: string;
  /** Assumed-role sessions are normalised to their role. */
  type: 'role' | 'user';
  /** The role's or user's name (a user's path is dropped; an assumed-role ARN carries none). */
  name: string;
  /** The assumed-role session's name; undefined for users. */
  sessionName: string | undefined;
  /** IAM unique id (`AROA…`, `AIDA…`) without the session suffix: unlike a name, never reused. */
  userId: string;
}

/** An AWS role or user, proven by the web identity JWT its account's issuer signed (protocols.md §C.5). */
export interface AwsWebIdentityPrincipal {
  kind: 'aws-web-identity';
  /** The token's `sub`: the role's ARN (`arn:aws:iam::<acct>:role/<path><name>`) or a user's. */
  subject: string;
  /** The account's issuer, `https://<id>.tokens.sts.global.api.aws`. */
  issuer: string;
  account: string;
  type: 'role' | 'user';
  /** The role's or user's name, without its path. */
  name: string;
  /** AWS Organizations claims, when the account is in an organization. */
  orgId: string | undefined;
  ouPath: string | undefined;
  /** The principal's IAM tags, as the token carries them. */
  principalTags: Readonly<Record<string, string>>;
}

/** An identity of an Amazon Cognito identity pool, proven by the pool's OpenID token (protocols.md §C.3). */
export interface CognitoPrincipal {
  kind: 'cognito';
  /** The IdentityId (`<region>:<guid>`). */
  subject: string;
  /** The token's `aud`: the identity pool's id. */
  identityPool: string;
}

/** A SPIFFE workload, proven by a JWT-SVID (protocols.md §D.1). */
export interface SpiffePrincipal {
  kind: 'spiffe';
  /** The SPIFFE ID, `spiffe://<trust domain>/<path>`. */
  subject: string;
  trustDomain: string;
  /** The ID's path, starting with `/`. */
  path: string;
}

/** A Kubernetes service account, proven by a projected service-account token (protocols.md §E.2). */
export interface KubernetesPrincipal {
  kind: 'kubernetes';
  /** `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
  /** The cluster's issuer, exactly as configured. */
  issuer: string;
  namespace: string;
  serviceAccount: string;
  serviceAccountUid: string | undefined;
  pod: string | undefined;
}

/** A GitHub Actions job, proven by its OIDC token (protocols.md §E.1). */
export interface GitHubPrincipal {
  kind: 'github';
  /** The token's `sub`, in either the classic or the immutable-id format. */
  subject: string;
  owner: string;
  ownerId: string;
  /** `owner/repo`. */
  repository: string;
  repositoryId: string;
  ref: string;
  environment: string | undefined;
  eventName: string;
  workflowRef: string;
  jobWorkflowRef: string;
}

/** A caller of any other OIDC issuer listed in configuration. */
export interface OidcPrincipal {
  kind: 'oidc';
  issuer: string;
  subject: string;
  /** The claims configuration lets the policy use, as strings. */
  claims: Readonly<Record<string, string>>;
}

/** Who called the broker, after verification. */
export type CallerPrincipal =
  | GooglePrincipal
  | AwsIamPrincipal
  | AwsWebIdentityPrincipal
  | CognitoPrincipal
  | SpiffePrincipal
  | KubernetesPrincipal
  | GitHubPrincipal
  | OidcPrincipal;

export interface VerifiedCaller {
  principal: CallerPrincipal;
  /** When the caller's proof stops being valid, seconds since the epoch (a JWT's `exp`). */
  expiresAt: number;
}

/** Verifies a signed AWS request presented as `subject_token` (`urn:ietf:params:aws:token-type:aws4_request`). */
export interface SignedRequestVerifier {
  /**
   * Checks the serialised request, forwards it to an allow-listed STS endpoint, and types the answer.
   * Throws a BrokerError: `invalid_grant` (401) when the request or STS's answer refuses it,
   * `temporarily_unavailable` (503) when STS cannot be reached.
   */
  verify(token: string): Promise<VerifiedCaller>;
}

/** A JWT that passed checkJwtShape: its decoded, still unverified, header and payload. */
export type CheckedJwt = ReturnType<typeof checkJwtShape>;

/** Verifies one kind of caller credential; selected by the token's issuer from static configuration. */
export interface CallerVerifier {
  /** Issuers (exact `iss` values) this verifier handles. */
  readonly issuers: readonly string[];
  /** Tokens without `iss` it handles, judged from the unverified payload (JWT-SVIDs, by their `sub`). */
  readonly issuerless?: (unverified: Readonly<Record<string, unknown>>) => boolean;
  /**
   * Verifies the token completely (shape, signature, issuer, audience, times, claims).
   * Throws a BrokerError: `invalid_grant` (401) when the token fails, `temporarily_unavailable`
   * when the issuer's keys cannot be read. `checked` is the token's shape as checkJwtShape returned it,
   * when the dispatcher has checked it already (it must, to read `iss`): not checked twice.
   */
  verify(token: string, checked?: CheckedJwt): Promise<VerifiedCaller>;
}

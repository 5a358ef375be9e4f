// What every caller verifier yields and the interface the token function dispatches through.

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

/** Who called the broker, after verification. Later issues add AWS and SPIFFE principals. */
export type CallerPrincipal = GooglePrincipal;

export interface VerifiedCaller {
  principal: CallerPrincipal;
  /** The caller token's `exp`, seconds since the epoch. */
  expiresAt: number;
}

/** Verifies one kind of caller credential; selected by the token's issuer from static configuration. */
export interface CallerVerifier {
  /** Issuers (exact `iss` values) this verifier handles. */
  readonly issuers: readonly string[];
  /**
   * Verifies the token completely (shape, signature, issuer, audience, times, claims).
   * Throws a BrokerError: `invalid_grant` (401) when the token fails, `temporarily_unavailable`
   * when the issuer's keys cannot be read.
   */
  verify(token: string): Promise<VerifiedCaller>;
}

// A source of the broker's own platform token (audience api://AzureADTokenExchange), the assertion
// Entra checks against a federated identity credential (broker.md, step 3).

/** The broker's own assertion with the identity Entra will match it by. */
export interface SourceAssertion {
  /** The JWT itself: never logged, never in an error. */
  token: string;
  /** `exp` in ms since the epoch. */
  expiresAtMs: number;
  /** `iss` and `sub`: what a federated identity credential must name to trust this broker. */
  issuer: string;
  subject: string;
}

export interface TokenSource {
  readonly name: string;
  /** Returns a fresh-enough assertion; throws SourceError when the platform cannot provide one. */
  getAssertion(): Promise<SourceAssertion>;
}

/** The platform did not provide a token: a peer fault, retryable. The cause names no token. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    /** Why, in words that name no URL and no token. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`token source ${source}: ${reason}`, options);
    this.name = 'SourceError';
  }
}

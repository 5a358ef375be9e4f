// What the refresh timer publishes through, apart from the Key Vault SDK (keyVault.ts), which broker.ts
// imports only when a target declares `publish`.
import type { EntraToken } from '../exchange/entraClient.js';
import type { LogTarget } from '../log.js';
import type { Target } from '../policy.js';

export type PublishOutcome = 'published' | 'current';

/** Why a publish failed, for the timer's summary; never the vault's answer body. */
export class PublishError extends Error {
  constructor(
    readonly reason: 'key_vault_denied' | 'key_vault_unavailable' | 'vault_token_failed',
    options?: ErrorOptions,
  ) {
    super(`publishing to Key Vault failed: ${reason}`, options);
    this.name = 'PublishError';
  }
}

/** What a vault's latest version says about itself (no value needed). */
export interface PublishedVersion {
  tokenSha256: string | undefined;
  expiresAtMs: number | undefined;
}

/**
 * Whether to write `token` as a new version over `latest`: never the same token twice; a token that
 * outlives the latest; or any new token once the latest would enter the refresh window (`horizonMs`,
 * the refresh margin plus the time to the next run) before the next run could replace it. So the latest
 * version is always valid for readers, and old ones stay readable until they expire.
 */
export function shouldPublish(
  latest: PublishedVersion | undefined,
  token: { tokenSha256: string; expiresAtMs: number },
  nowMs: number,
  horizonMs: number,
): boolean {
  if (!latest || latest.expiresAtMs === undefined) return latest?.tokenSha256 !== token.tokenSha256;
  if (latest.tokenSha256 === token.tokenSha256) return false;
  return latest.expiresAtMs < token.expiresAtMs || latest.expiresAtMs - horizonMs <= nowMs;
}

export interface TokenPublisher {
  /** Writes `token` for `target` unless the latest version already holds it or outlives it; `log` hears about the broker's own vault token. */
  publish(target: Target, token: EntraToken, log: LogTarget, horizonMs: number): Promise<PublishOutcome>;
}

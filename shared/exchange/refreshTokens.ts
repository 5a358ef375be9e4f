// The refresh run the `refreshTokens` timer makes (issue 10): every scope of the targets the policy marks
// `warm`, and every target and scope a caller used recently, is refreshed when its cached token would
// enter the refresh margin before the next run, so no caller waits on Entra for them. One fetch at a
// time per key, through the same cache callers read; a paused key (after a failure) is left alone.
// Then each target that declares `publish` has its token written to Key Vault when it changed.

import { BrokerError } from '../errors.js';
import type { LogTarget } from '../log.js';
import { publishedScope, type Target } from '../policy.js';
import { PublishError } from '../sinks/publisher.js';
import type { ExchangeDependencies } from './exchangeToken.js';
import { targetToken } from './targetToken.js';
import { mapUpstreamError } from './upstreamErrors.js';

/** Target and scope pairs callers used, with when; bounded, the least recently used forgotten first. */
export class RecentTargets {
  readonly #used = new Map<string, { target: string; scope: string; at: number }>();

  constructor(
    private readonly clock: { now(): number },
    private readonly maxEntries = 10_000,
  ) {}

  touch(target: string, scope: string): void {
    // Target names cannot hold a newline (policy.ts), so the key is unambiguous.
    const key = `${target}\n${scope}`;
    const now = this.clock.now();
    const known = this.#used.get(key);
    // On the hot path: within a second, only the time moves, not the entry (it was just made most recent).
    if (known && now - known.at < 1000) {
      known.at = now;
      return;
    }
    this.#used.delete(key);
    this.#used.set(key, { target, scope, at: now });
    if (this.#used.size > this.maxEntries) this.#used.delete(this.#used.keys().next().value as string);
  }

  /** Pairs used within the last `windowMs`. */
  since(windowMs: number): Array<{ target: string; scope: string }> {
    const after = this.clock.now() - windowMs;
    return [...this.#used.values()]
      .filter((use) => use.at >= after)
      .map(({ target, scope }) => ({ target, scope }));
  }
}

export interface RefreshOptions {
  /** Refresh a token that expires within this, in ms: the refresh margin plus the time to the next run. */
  horizonMs: number;
  /** A target and scope count as recently used for this long, in ms. */
  recentWindowMs: number;
}

/** What a run did, by `target scope`; no token. */
export interface RefreshSummary {
  /** Fetched from Entra by this instance. */
  refreshed: string[];
  /** Taken from the shared tier, where another instance had already refreshed it. */
  shared: string[];
  /** Written to Key Vault as a new secret version. */
  published: string[];
  skipped: string[];
  failed: string[];
}

/** Refreshes warm and recently used targets; never throws for one target's failure. */
export async function refreshTokens(
  deps: ExchangeDependencies,
  log: LogTarget,
  options: RefreshOptions,
): Promise<RefreshSummary> {
  const pairs = new Map<string, { target: Target; scope: string }>();
  const add = (target: Target, scope: string) => pairs.set(`${target.name} ${scope}`, { target, scope });
  for (const target of deps.policy.targets.values()) {
    if (target.warm) for (const scope of target.scopes) add(target, scope);
    if (target.publish) add(target, publishedScope(target));
  }
  for (const { target: name, scope } of deps.recent?.since(options.recentWindowMs) ?? []) {
    const target = deps.policy.targets.get(name);
    if (target?.scopes.includes(scope)) add(target, scope);
  }
  const summary: RefreshSummary = { refreshed: [], shared: [], published: [], skipped: [], failed: [] };
  await Promise.all(
    [...pairs].map(async ([label, { target, scope }]) => {
      const { key, fetcher, context } = targetToken(deps, target, scope, log, options.horizonMs);
      try {
        let origin: string | undefined;
        const outcome = await deps.cache.refresh(
          key,
          async () => {
            const token = await fetcher();
            origin = token.origin;
            return token;
          },
          options.horizonMs,
        );
        const list =
          outcome !== 'refreshed'
            ? summary.skipped
            : origin === 'shared'
              ? summary.shared
              : summary.refreshed;
        list.push(label);
        if (target.publish && deps.publisher && scope === publishedScope(target)) {
          const { token } = await deps.cache.get(key, fetcher);
          const published = await deps.publisher
            .publish(target, token, log, options.horizonMs)
            .catch((error: unknown) => {
              summary.failed.push(
                `${label} (${error instanceof PublishError ? error.reason : 'publish_failed'})`,
              );
              return undefined;
            });
          if (published === 'published') summary.published.push(label);
        }
      } catch (error) {
        const mapped = mapUpstreamError(error, context);
        const reason =
          mapped instanceof BrokerError ? String(mapped.detail.reason ?? mapped.code) : 'unknown';
        summary.failed.push(`${label} (${reason})`);
      }
    }),
  );
  for (const list of Object.values(summary)) list.sort();
  return summary;
}

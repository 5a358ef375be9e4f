// When the refresh timer writes a new Key Vault version, on a simulated clock: over a day of 5-minute runs
// with tokens living 60–90 minutes, a reader looking every minute always finds a latest version that is
// valid for at least the refresh margin, every token is written once, and no version is written twice.
import { describe, expect, it } from 'vitest';
import { shouldPublish } from '../../../shared/sinks/publisher.js';

const MINUTE = 60_000;
const MARGIN = 5 * MINUTE;
const PERIOD = 5 * MINUTE;
const HORIZON = MARGIN + PERIOD;

describe('shouldPublish', () => {
  it('publishes the first token, never the same token twice, and a token that outlives the latest', () => {
    const token = { tokenSha256: 'a', expiresAtMs: 100 * MINUTE };
    expect(shouldPublish(undefined, token, 0, HORIZON)).toBe(true);
    expect(shouldPublish({ tokenSha256: 'a', expiresAtMs: 100 * MINUTE }, token, 95 * MINUTE, HORIZON)).toBe(
      false,
    );
    expect(shouldPublish({ tokenSha256: 'b', expiresAtMs: 90 * MINUTE }, token, 0, HORIZON)).toBe(true);
  });

  it('keeps a latest version that outlives a new token until it nears the refresh window', () => {
    const token = { tokenSha256: 'new', expiresAtMs: 70 * MINUTE };
    const latest = { tokenSha256: 'old', expiresAtMs: 80 * MINUTE };
    expect(shouldPublish(latest, token, 60 * MINUTE, HORIZON)).toBe(false);
    expect(shouldPublish(latest, token, 70 * MINUTE, HORIZON)).toBe(true);
  });

  it('over a simulated day, a reader never finds an expired or nearly expired latest version', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // The broker's cached token: refreshed when it would enter the margin before the next run.
    let cached = { tokenSha256: 't0', expiresAtMs: 60 * MINUTE };
    let issued = 0;
    const versions: Array<{ tokenSha256: string; expiresAtMs: number }> = [];
    let worstLeftMs = Number.POSITIVE_INFINITY;
    for (let now = 0; now <= 24 * 60 * MINUTE; now += MINUTE) {
      if (now % PERIOD === 0) {
        if (cached.expiresAtMs - HORIZON <= now)
          cached = { tokenSha256: `t${++issued}`, expiresAtMs: now + (60 + 30 * random()) * MINUTE };
        if (shouldPublish(versions.at(-1), cached, now, HORIZON)) versions.push(cached);
      }
      const latest = versions.at(-1);
      if (latest) worstLeftMs = Math.min(worstLeftMs, latest.expiresAtMs - now);
    }
    expect(worstLeftMs).toBeGreaterThanOrEqual(MARGIN);
    expect(new Set(versions.map((version) => version.tokenSha256)).size).toBe(versions.length);
    expect(versions.length).toBeGreaterThan(15);
  });
});

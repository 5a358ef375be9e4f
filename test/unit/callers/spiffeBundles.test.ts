// The SPIFFE bundle feed before its first bundle: one start-up window for every caller, then an
// immediate retryable refusal while the agent sends nothing.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JwksUnavailableError } from '../../../shared/callers/jwksResolver.js';
import { createSpiffeBundleFeed } from '../../../shared/callers/spiffeBundles.js';

const NO_BODY = { payload: '', signature: '' };

describe('createSpiffeBundleFeed without an agent', () => {
  it('waits for the first bundle once for all callers, then refuses at once until one comes', async () => {
    // No agent listens here: the stream keeps reconnecting and no bundle ever arrives.
    const socket = path.join(tmpdir(), `no-agent-${randomUUID()}.sock`);
    const feed = createSpiffeBundleFeed(`unix://${socket}`, { firstBundleTimeoutMs: 1500 });
    try {
      const keys = feed.keysFor('example.org');
      const ask = () => Promise.resolve(keys({ alg: 'ES256', kid: 'k1' }, NO_BODY)).catch((e: unknown) => e);

      const started = performance.now();
      const during = await Promise.all(Array.from({ length: 20 }, ask));
      const windowMs = performance.now() - started;
      const after = performance.now();
      const later = await Promise.all(Array.from({ length: 20 }, ask));
      const laterMs = performance.now() - after;

      expect([...during, ...later].every((e) => e instanceof JwksUnavailableError)).toBe(true);
      expect(windowMs).toBeGreaterThanOrEqual(1400);
      // Before, each of these waited the whole window again (1.5 s); now none waits.
      expect(laterMs).toBeLessThan(750);
    } finally {
      feed.close();
    }
  });
});

// The SPIFFE bundle feed before its first bundle: one start-up window for every caller, then an
// immediate retryable refusal while the agent sends nothing. And an agent that hangs with the stream's
// connection open: pings notice it, so the feed takes the bundles of the agent that answers next.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import { JwksUnavailableError } from '../../../shared/callers/jwksResolver.js';
import { createSpiffeBundleFeed, type SpiffeBundleFeed } from '../../../shared/callers/spiffeBundles.js';
import { BROKER_ID, eventually, TRUST_DOMAIN } from '../../sandbox/spiffe/fixtures.js';
import { socketDirectory } from '../../sandbox/spiffe/workloadClient.js';

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

/**
 * A Unix-socket relay in front of the agent. `hang()` silences every connection open at that moment, for
 * good, without closing it: an agent hung with its connections open while its supervisor starts another
 * at the same socket path (or a TCP endpoint whose host vanished). Connections made later are relayed.
 */
async function hangableRelay(upstream: string, listenPath: string) {
  const silencers = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const agent = net.connect(upstream);
    let silent = false;
    const silence = () => {
      silent = true;
    };
    silencers.add(silence);
    for (const socket of [client, agent]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        silencers.delete(silence);
      });
    }
    client.on('data', (chunk) => silent || agent.write(chunk));
    agent.on('data', (chunk) => silent || client.write(chunk));
    client.on('close', () => agent.destroy());
    agent.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(listenPath, resolve));
  return {
    /** How many connections the relay has now (the silenced ones stay until a side closes them). */
    connections: () => sockets.size / 2,
    hang() {
      for (const silence of silencers) silence();
      silencers.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('createSpiffeBundleFeed when the agent hangs with the connection open', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An agent behind a relay, a feed through the relay, and the feed's first key set of the trust domain. */
  async function hangingAgentFeed(keepalive: { keepaliveMs?: number; keepaliveTimeoutMs?: number }) {
    const sockets = await socketDirectory();
    cleanups.push(sockets.remove);
    const agent: SpireAgent = await startSpireAgent({
      trustDomain: { name: TRUST_DOMAIN },
      workloads: [{ socketPath: path.join(sockets.dir, 'agent.sock'), spiffeIds: [BROKER_ID] }],
      admin: false,
    });
    cleanups.push(() => agent.close());
    const relayPath = path.join(sockets.dir, 'relay.sock');
    const relay = await hangableRelay(path.join(sockets.dir, 'agent.sock'), relayPath);
    cleanups.push(relay.close);
    const feed: SpiffeBundleFeed = createSpiffeBundleFeed(`unix://${relayPath}`, keepalive);
    cleanups.push(() => feed.close());
    const keys = feed.keysFor(TRUST_DOMAIN);
    const first = await eventually(
      async () => keys.currentSet?.() ?? Promise.reject(new Error('no set yet')),
    );
    return { agent, relay, keys, first };
  }

  it('with pings, drops the silent connection and takes the rotated bundle from the agent that answers', async () => {
    const { agent, relay, keys } = await hangingAgentFeed({ keepaliveMs: 200, keepaliveTimeoutMs: 200 });

    relay.hang();
    const { kid } = await agent.rotate(TRUST_DOMAIN);

    // The rotated key is in the set the feed holds now: only a bundle sent after the rotation has it.
    const key = await eventually(() => Promise.resolve(keys({ alg: 'ES256', kid }, NO_BODY)), 5000);
    expect(key).toBeDefined();
    // The hung connection was given up (closed by the client), not left open beside the new one.
    await eventually(async () => (relay.connections() === 1 ? true : Promise.reject(new Error('open'))));
  });

  it('without pings, stays on the silent connection and the bundles it had (what the pings are for)', async () => {
    const { agent, relay, keys, first } = await hangingAgentFeed({});

    relay.hang();
    const { kid } = await agent.rotate(TRUST_DOMAIN);
    await new Promise((resolve) => setTimeout(resolve, 2500));

    expect(keys.currentSet?.()).toBe(first);
    await expect(Promise.resolve(keys({ alg: 'ES256', kid }, NO_BODY))).rejects.toThrow();
    expect(relay.connections()).toBe(1);
  });
});

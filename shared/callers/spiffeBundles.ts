// JWT bundles from the SPIFFE Workload API stream (issue 9; protocols.md §D.1–D.2), as key resolvers per
// trust domain: every message replaces the whole set, so a key rotated in verifies at once and a key
// rotated out stops verifying at once, with no restart and no fetch per token.
import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { type JwtBundles, WorkloadApiClient, type WorkloadApiClientOptions } from '../sources/workloadApi.js';
import { JwksUnavailableError } from './jwksResolver.js';
import type { KeyGetter } from './verifiedTokenCache.js';

export interface SpiffeBundleFeed {
  /** The resolver for one trust domain; it refuses while no bundle has arrived for it. */
  keysFor(trustDomain: string): KeyGetter;
  close(): void;
}

/**
 * A bundle's JWT-SVID keys as jose takes them. The Workload API sends a standard JWK Set, keys without
 * `use` (spec §6.2.2; SPIRE since commit 64c21a5); a SPIFFE bundle marks them `use: "jwt-svid"`. Both
 * count, with `use` rewritten to `sig` as jose requires; a key for any other use (X.509-SVIDs) is ignored.
 */
export function jwtSvidKeys(jwks: { keys: Array<Record<string, unknown>> }): {
  keys: Array<Record<string, unknown>>;
} {
  return {
    keys: jwks.keys
      .filter((key) => key.use === undefined || key.use === 'jwt-svid')
      .map((key) => ({ ...key, use: 'sig' })),
  };
}

/**
 * Follows the stream of the agent at `endpoint`. A failed stream is reopened with backoff and is not
 * logged here (there is no invocation to log through at this depth); while no bundle is held, callers of
 * that trust domain get the retryable 503 `caller_keys_unavailable`, which their decision lines record.
 */
export function createSpiffeBundleFeed(
  endpoint: string,
  options: { firstBundleTimeoutMs?: number } & WorkloadApiClientOptions = {},
): SpiffeBundleFeed {
  const client = new WorkloadApiClient(endpoint, options);
  let resolvers: Map<string, JWTVerifyGetKey> | undefined;
  let arrived: () => void = () => {};
  // A cold broker waits for the stream's first message, as it would for a first JWKS fetch.
  const first = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const stop = client.watchJwtBundles(
    (bundles: JwtBundles) => {
      resolvers = new Map(
        [...bundles].map(([trustDomain, jwks]) => [
          trustDomain,
          createLocalJWKSet(jwtSvidKeys(jwks) as never),
        ]),
      );
      arrived();
    },
    () => {},
  );
  // One start-up window for all callers: it ends with the first message or the timeout, whichever comes
  // first, and once it has ended nobody waits again. A race per request would add a handler to `first`
  // each time, kept for as long as no bundle comes, and hold every request for the whole timeout.
  let startUp: Promise<void> | undefined;
  const waitForFirst = () => {
    startUp ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.firstBundleTimeoutMs ?? 5000);
      timer.unref();
      void first.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return startUp;
  };
  return {
    keysFor: (trustDomain) => {
      const fromBundle = (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
        const resolve = resolvers?.get(trustDomain);
        if (!resolve) throw new JwksUnavailableError({ cause: new Error(`no bundle for ${trustDomain}`) });
        return resolve(header, token);
      };
      return Object.assign(
        // Not an async function: once a bundle is held (every request but a cold broker's first), the set's
        // own answer is handed on without a promise of its own. jose awaits the getter, so a refusal thrown
        // here rejects the verification as a rejected promise would.
        (header: JWTHeaderParameters, token: FlattenedJWSInput) =>
          resolvers ? fromBundle(header, token) : waitForFirst().then(() => fromBundle(header, token)),
        // Each bundle update builds new sets: a trust domain's set is the same object until the next one.
        { currentSet: () => resolvers?.get(trustDomain) },
      );
    },
    close() {
      stop();
      client.close();
    },
  };
}

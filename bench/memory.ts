// `node dist/bench/memory.js`: resident memory of the broker's two caches at the sizes issue 11 names, in
// a fresh process: 10,000 Entra tokens in the token cache, and 100,000 callers in the verified-token cache,
// each verified by the real JWT verifier (ES256, distinct tokens). Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { getHeapSpaceStatistics } from 'node:v8';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { sha256 } from '../shared/audit.js';
import { createJwtCallerVerifier } from '../shared/callers/jwtCaller.js';
import { VerifiedTokenCache } from '../shared/callers/verifiedTokenCache.js';
import type { EntraToken } from '../shared/exchange/entraClient.js';
import { TokenCache } from '../shared/exchange/tokenCache.js';

const ENTRA_TOKENS = Number(process.env.BENCH_ENTRA_TOKENS ?? 10_000);
const CALLERS = Number(process.env.BENCH_VERIFIED_CALLERS ?? 100_000);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main(): Promise<void> {
  const clock = { now: () => Date.now() };
  global.gc?.();
  const before = process.memoryUsage();

  const tokens = new TokenCache<EntraToken>({
    clock,
    refreshBeforeMs: 300_000,
    minRemainingMs: 60_000,
    maxEntries: ENTRA_TOKENS,
  });
  for (let i = 0; i < ENTRA_TOKENS; i++) {
    // An Entra access token is a JWT of about 1.5-2.5 KB; these are random strings of 2 KB.
    const accessToken = randomBytes(1536).toString('base64url');
    await tokens.get(
      TokenCache.key(
        '11111111-2222-3333-4444-555555555555',
        `client-${i}`,
        'https://vault.azure.net/.default',
      ),
      async () => ({
        accessToken,
        expiresAtMs: Date.now() + 3_600_000,
      }),
    );
  }
  global.gc?.();
  const afterTokens = process.memoryUsage();

  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
  const keys = createLocalJWKSet(jwks);
  const verifier = createJwtCallerVerifier({
    issuers: ['https://issuer.example'],
    keysFor: () => keys,
    audience: 'https://broker.example',
    algorithms: ['ES256'],
    typ: ['JWT'],
    issuerName: 'the example issuer',
    maxLifetimeSeconds: 3600,
    clockSkewSeconds: 60,
    maxTokenBytes: 8192,
    clock,
    principalOf: (payload) => ({
      kind: 'oidc' as const,
      issuer: payload.iss as string,
      subject: payload.sub as string,
      claims: {},
    }),
  });
  const verified = new VerifiedTokenCache(clock, CALLERS);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < CALLERS; i++) {
    const token = await new SignJWT({ sub: `workload-${i}`, jti: randomBytes(8).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
      .setIssuer('https://issuer.example')
      .setAudience('https://broker.example')
      .setIssuedAt(now)
      .setExpirationTime(now + 3000)
      .sign(privateKey);
    verified.remember(sha256(token), await verifier.verify(token));
  }
  // Let V8 return the pages the 100,000 signings and verifications used and freed.
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const after = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      entraTokens: tokens.size,
      verifiedCallers: verified.size,
      rssMiB: mb(after.rss),
      heapUsedMiB: mb(after.heapUsed),
      tokenCacheHeapMiB: mb(afterTokens.heapUsed - before.heapUsed),
      verifiedCacheHeapMiB: mb(after.heapUsed - afterTokens.heapUsed),
      baselineRssMiB: mb(before.rss),
      heapTotalMiB: mb(after.heapTotal),
      externalMiB: mb(after.external),
      // Where V8's committed heap is, by space (new, old, code, large objects...).
      heapSpacesCommittedMiB: Object.fromEntries(
        getHeapSpaceStatistics().map((space) => [space.space_name, mb(space.physical_space_size)]),
      ),
    })}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(`memory benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

// The `kubernetes` caller verifier (issue 9; protocols.md §E.2): a projected service-account token of
// a cluster whose issuer is configured, with the broker's audience; keys from that cluster's JWKS.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, KubernetesPrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

export interface KubernetesCluster {
  /** The API server's `--service-account-issuer`, exact (an AKS issuer keeps its trailing slash). */
  issuer: string;
  keys: KeyGetter;
}

export interface KubernetesVerifierOptions {
  clusters: readonly KubernetesCluster[];
  audience: string;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/** Builds the verifier for the configured clusters. */
export function createKubernetesVerifier(options: KubernetesVerifierOptions): CallerVerifier {
  const byIssuer = new Map(options.clusters.map((cluster) => [cluster.issuer, cluster]));
  return createJwtCallerVerifier<KubernetesPrincipal>({
    issuers: [...byIssuer.keys()],
    keysFor: (unverified) => byIssuer.get(unverified.iss as string)?.keys,
    audience: options.audience,
    // The API server signs with RS256 unless its service-account key is EC.
    algorithms: ['RS256', 'ES256'],
    typ: ['JWT'],
    typOptional: true,
    issuerName: 'a Kubernetes cluster this broker trusts',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      const claims = payload['kubernetes.io'];
      const namespace = field(claims, 'namespace');
      const serviceAccount = field(field(claims, 'serviceaccount'), 'name');
      if (
        typeof namespace !== 'string' ||
        typeof serviceAccount !== 'string' ||
        !NAME.test(namespace) ||
        !NAME.test(serviceAccount)
      ) {
        throw refuseCaller(
          "The subject token's 'kubernetes.io' claims name no namespace and service account.",
        );
      }
      // The subject must say what the structured claims say.
      if (payload.sub !== `system:serviceaccount:${namespace}:${serviceAccount}`)
        throw refuseCaller("The subject token's 'sub' is not its service account.");
      const uid = field(field(claims, 'serviceaccount'), 'uid');
      const pod = field(field(claims, 'pod'), 'name');
      return {
        kind: 'kubernetes',
        subject: payload.sub,
        issuer: payload.iss as string,
        namespace,
        serviceAccount,
        serviceAccountUid: typeof uid === 'string' ? uid : undefined,
        pod: typeof pod === 'string' ? pod : undefined,
      };
    },
  });
}

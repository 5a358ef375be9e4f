// The kubelet's side of a projected service-account token: the token file a pod reads, refreshed before expiry.
// Refresh rule from pkg/kubelet/token/token_manager.go (requiresRefresh); layout from atomicWriter.ts.
import path from 'node:path';
import { writeAtomically } from './atomicWriter.js';
import type { KubernetesIssuer, ServiceAccountToken } from './kubernetesIssuer.js';
import type { ServiceAccountTokenRequest } from './serviceAccountToken.js';

/** token_manager.go `maxTTL = 24 * time.Hour`: a token older than this is refreshed whatever its lifetime. */
export const KUBELET_MAX_TOKEN_AGE_SECONDS = 24 * 3600;
/** token_manager.go: refreshed once older than 80% of its lifetime (within 20% of expiry). */
export const KUBELET_REFRESH_FRACTION = 0.8;

export interface ProjectedTokenFileOptions extends ServiceAccountTokenRequest {
  /** Anything that answers TokenRequests; a KubernetesIssuer in practice. */
  issuer: Pick<KubernetesIssuer, 'mintServiceAccountToken'>;
  /**
   * The path the pod reads, e.g. `<volume>/token`: its directory is the volume (holding `..data` and the
   * timestamped directories), its name the projection's `path`.
   */
  path: string;
  /**
   * Refresh every this many seconds instead of the kubelet's rule (for tests that want several rotations
   * quickly). The kubelet's rule: at 80% of `spec.expirationSeconds` after issue, or after 24 h if sooner.
   */
  refreshEverySeconds?: number;
  /** File mode; 0o644 (the projected volume's `defaultMode` default) unless told. */
  mode?: number;
  /** Milliseconds since the epoch, used to name the timestamped directories; Date.now unless told. */
  now?: () => number;
}

/** A running token projection. */
export interface ProjectedTokenFile {
  /** The visible path (a symlink through `..data`). */
  readonly path: string;
  /** The token now in the file. */
  readonly current: ServiceAccountToken;
  /** Tokens written so far, the first included. */
  readonly writes: number;
  /** When the next automatic refresh is due; undefined once closed. */
  readonly nextRefreshAt: Date | undefined;
  /** The last refresh failure, if the latest attempt failed (the old token stays, as the kubelet keeps it). */
  readonly lastError: unknown;
  /** Requests and writes a new token now, and reschedules the next refresh from it. */
  rotateNow(): Promise<ServiceAccountToken>;
  /** Stops refreshing; leaves the files in place (the kubelet removes them with the pod). */
  close(): Promise<void>;
}

/**
 * When the kubelet refreshes a token (requiresRefresh, without its up-to-10 s jitter): once
 * `now > iat + min(80% of the lifetime, 24 h)`, with `iat = expirationTimestamp - expirationSeconds`. The
 * lifetime is the TokenRequest's, so an extended 3607 s token is still refreshed after about 48 minutes.
 */
export function kubeletRefreshAt(token: ServiceAccountToken): Date {
  const issuedMs = token.expirationTimestamp.getTime() - token.expirationSeconds * 1000;
  const ageSeconds = Math.min(
    token.expirationSeconds * KUBELET_REFRESH_FRACTION,
    KUBELET_MAX_TOKEN_AGE_SECONDS,
  );
  return new Date(issuedMs + ageSeconds * 1000);
}

/**
 * Mints a token, writes it as the kubelet writes a projected volume (see writeAtomically), and keeps it
 * fresh: a timer refreshes it at `kubeletRefreshAt` (or every `refreshEverySeconds`). Resolves once the
 * first token is in place, as a pod's containers start only after its volumes are mounted. A failed
 * refresh keeps the old file and retries after 10 s (the kubelet retries on its next volume sync).
 */
export async function startProjectedTokenFile(
  options: ProjectedTokenFileOptions,
): Promise<ProjectedTokenFile> {
  const {
    issuer,
    path: visiblePath,
    refreshEverySeconds,
    mode = 0o644,
    now = () => Date.now(),
    ...request
  } = options;
  if (refreshEverySeconds !== undefined && !(refreshEverySeconds > 0)) {
    throw new Error('startProjectedTokenFile: option refreshEverySeconds must be positive');
  }
  const targetDir = path.dirname(path.resolve(visiblePath));
  const fileName = path.basename(visiblePath);
  let current: ServiceAccountToken | undefined;
  let writes = 0;
  let timer: NodeJS.Timeout | undefined;
  let nextRefreshAt: Date | undefined;
  let lastError: unknown;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  const schedule = (at: Date): void => {
    if (closed) return;
    clearTimeout(timer);
    nextRefreshAt = at;
    // Timers hold at most 2^31-1 ms; the 24 h ceiling keeps the kubelet's schedule well inside that.
    timer = setTimeout(() => void rotate().catch(() => undefined), Math.max(0, at.getTime() - now()));
    timer.unref();
  };

  async function writeOnce(): Promise<ServiceAccountToken> {
    const token = await issuer.mintServiceAccountToken(request);
    await writeAtomically(targetDir, fileName, token.token, mode, new Date(now()));
    current = token;
    writes += 1;
    lastError = undefined;
    schedule(
      refreshEverySeconds === undefined
        ? kubeletRefreshAt(token)
        : new Date(now() + refreshEverySeconds * 1000),
    );
    return token;
  }

  // One write at a time: AtomicWriter "offers no concurrency guarantees and must be synchronized by the caller".
  function rotate(): Promise<ServiceAccountToken> {
    if (closed) return Promise.reject(new Error('startProjectedTokenFile: the projection is closed'));
    const run = queue.then(writeOnce, writeOnce);
    queue = run.catch((error: unknown) => {
      lastError = error;
      schedule(new Date(now() + 10_000));
    });
    return run;
  }

  try {
    await rotate();
  } catch (error) {
    closed = true;
    clearTimeout(timer);
    throw error;
  }
  return {
    path: path.resolve(visiblePath),
    get current() {
      return current as ServiceAccountToken;
    },
    get writes() {
      return writes;
    },
    get nextRefreshAt() {
      return nextRefreshAt;
    },
    get lastError() {
      return lastError;
    },
    rotateNow: rotate,
    async close() {
      closed = true;
      clearTimeout(timer);
      nextRefreshAt = undefined;
      await queue;
    },
  };
}

// The shared cache tier (issue 10): tokens sealed in Azure Storage so many broker instances call Entra
// once per target and scope, not once each. One lease per key makes one instance fetch at a time; the
// others wait for what it writes, or take over when its lease runs out (the holder died). Storage is an
// optimisation, never a dependency: any storage failure falls back to this instance's own fetch, with a
// warning, and storage is left alone for a while before it is tried again.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { errorKind } from '../errors.js';
import { type LogTarget, logEvent } from '../log.js';
import { telemetry } from '../telemetry.js';
import type { EntraToken } from './entraClient.js';
import { type Keyring, SealError, type SealedToken } from './tokenSeal.js';

/** Blob I/O the tier needs; any failure throws (a held lease is not a failure: `acquire` returns undefined). */
export interface SharedStore {
  /** The JSON a blob holds, or undefined when it is absent or empty. */
  read(name: string): Promise<unknown>;
  /** Writes `value` as JSON under the lease `leaseId` holds. */
  write(name: string, value: SealedToken, leaseId: string): Promise<void>;
  /** A lease on `name` for `seconds` (creating the blob when absent), or undefined while another holds one. */
  acquire(name: string, seconds: number): Promise<string | undefined>;
  release(name: string, leaseId: string): Promise<void>;
  /** Resolves when storage answers. */
  probe(): Promise<void>;
}

/** Where a fetched token came from. */
export type TokenOrigin = 'entra' | 'shared';

export interface SharedTierOptions {
  store: SharedStore;
  /** Fixed keys (from a setting)... */
  keyring?: Keyring;
  /** ...or keys loaded now and again (from Key Vault): on `reloadKeys`, and when a blob names a version not held. */
  loadKeys?: (log: LogTarget) => Promise<Keyring>;
  clock: Clock;
  /** Lease length, 15–60 s (Azure's bounds): how long a dead holder keeps the others waiting. */
  leaseSeconds: number;
  /** After a storage failure, leave storage alone this long, in ms. */
  downForMs: number;
  /** Between two looks at a blob another instance is filling, in ms. */
  pollMs?: number;
  /**
   * How long a readiness probe's answer is reused, in ms (5 s unless told): `/api/ready` is anonymous, and
   * without this every call would be a storage transaction on the account the Functions host also uses.
   */
  probeReuseMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SharedFetch {
  token: EntraToken;
  origin: TokenOrigin;
  /** Another instance held the key's lease when this one wanted it. */
  contended: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A storage call failed: the tier falls back, the caller is still served. */
class StorageFailure extends Error {
  constructor(
    readonly operation: string,
    error: unknown,
  ) {
    // Only its errorKind: a storage RestError holds the request it failed on, with the sealed token it
    // was writing and its Authorization header.
    super(`shared cache storage failed on ${operation}`, { cause: errorKind(error) });
    this.name = 'StorageFailure';
  }
}

/** A blob sealed with an unknown key version triggers a key reload at most this often. */
const UNKNOWN_KEY_RELOAD_MS = 60_000;

export class SharedTier {
  #keyring: Keyring | undefined;
  #lastKeyLoad = Number.NEGATIVE_INFINITY;
  #downUntil = 0;
  #lastFailure: { operation: string; errorName: string; status?: number } | undefined;
  /** The last readiness probe: when it started and its answer (see check). */
  #probe: { at: number; answer: Promise<boolean> } | undefined;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(readonly options: SharedTierOptions) {
    this.#sleep = options.sleep ?? defaultSleep;
    this.#keyring = options.keyring;
  }

  /** Versions of the keys held, the sealing one first; empty while none could be loaded (the tier is off). */
  get keyVersions(): string[] {
    return this.#keyring?.versions ?? [];
  }

  /** Loads the keys again when they come from a loader; a failure keeps the keys held and is logged. */
  async reloadKeys(log: LogTarget): Promise<void> {
    if (!this.options.loadKeys) return;
    this.#lastKeyLoad = this.options.clock.now();
    try {
      const keyring = await this.options.loadKeys(log);
      const changed = keyring.versions.join() !== this.keyVersions.join();
      this.#keyring = keyring;
      if (changed) logEvent(log, 'info', 'shared_cache.keys_loaded', { keyVersions: keyring.versions });
    } catch (error) {
      const reason = (error as { reason?: unknown } | null)?.reason;
      logEvent(log, 'warn', 'shared_cache.key_unavailable', {
        reason: typeof reason === 'string' ? reason : 'unknown',
      });
    }
  }

  /** Blob name of a cache key: its SHA-256, so storage listings name no tenant, client or scope. */
  static blobName(cacheKey: string): string {
    return `tokens/${createHash('sha256').update(cacheKey).digest('hex')}.json`;
  }

  /** True from a storage failure until storage answers again: readiness reports it. */
  get failing(): boolean {
    return this.#lastFailure !== undefined;
  }

  /** True while storage is being left alone after a failure. */
  get down(): boolean {
    return this.options.clock.now() < this.#downUntil;
  }

  /**
   * Asks storage whether it answers, for readiness; updates the state and logs a change. One probe at a
   * time, and its answer stands for `probeReuseMs`.
   */
  check(log: LogTarget): Promise<boolean> {
    const now = this.options.clock.now();
    if (this.#probe && now - this.#probe.at < (this.options.probeReuseMs ?? 5_000)) return this.#probe.answer;
    const answer = this.#call('probe', () => this.options.store.probe()).then(
      () => {
        this.#recovered(log);
        return true;
      },
      (error: unknown) => {
        this.#failed(log, error);
        return false;
      },
    );
    this.#probe = { at: now, answer };
    return answer;
  }

  /**
   * A token for `cacheKey` that is still good `acceptAfterMs` from now: from the shared tier when it has
   * one, else from `fetcher` under the key's lease (or after waiting for the holder's result), written
   * back sealed. Throws only what `fetcher` throws.
   */
  async fetch(
    cacheKey: string,
    fetcher: () => Promise<EntraToken>,
    acceptAfterMs: number,
    log: LogTarget,
  ): Promise<SharedFetch> {
    // Without keys (none loaded yet) there is no shared tier: a token is never stored in clear.
    if (this.down || !this.#keyring) return { token: await fetcher(), origin: 'entra', contended: false };
    const name = SharedTier.blobName(cacheKey);
    let contended = false;
    try {
      const deadline = this.options.clock.now() + this.options.leaseSeconds * 1000 + 1000;
      for (;;) {
        const shared = await this.#readUsable(name, cacheKey, acceptAfterMs, log);
        if (shared) {
          this.#recovered(log);
          return { token: shared, origin: 'shared', contended };
        }
        const leaseId = await this.#call('acquire', () =>
          this.options.store.acquire(name, this.options.leaseSeconds),
        );
        if (leaseId) {
          this.#recovered(log);
          return {
            ...(await this.#fetchUnderLease(name, cacheKey, leaseId, fetcher, acceptAfterMs, log)),
            contended,
          };
        }
        if (!contended) telemetry.leaseContended();
        contended = true;
        // Another instance is fetching; its lease runs out within leaseSeconds if it died.
        if (this.options.clock.now() > deadline) break;
        await this.#sleep(this.options.pollMs ?? 250);
      }
    } catch (error) {
      if (!(error instanceof StorageFailure)) throw error;
      this.#failed(log, error);
    }
    return { token: await fetcher(), origin: 'entra', contended };
  }

  async #fetchUnderLease(
    name: string,
    cacheKey: string,
    leaseId: string,
    fetcher: () => Promise<EntraToken>,
    acceptAfterMs: number,
    log: LogTarget,
  ): Promise<Omit<SharedFetch, 'contended'>> {
    try {
      // The previous holder may have written between this instance's read and its lease (a blob that
      // does not open was reported by that read already).
      const shared = await this.#readUsable(name, cacheKey, acceptAfterMs, undefined);
      if (shared) return { token: shared, origin: 'shared' };
      const token = await fetcher();
      try {
        await this.#call('write', () =>
          this.options.store.write(name, (this.#keyring as Keyring).seal(cacheKey, token), leaseId),
        );
      } catch (error) {
        // The token is good; only the other instances miss it.
        if (!(error instanceof StorageFailure)) throw error;
        this.#failed(log, error);
      }
      return { token, origin: 'entra' };
    } finally {
      // A release that fails leaves the lease to run out by itself.
      await this.options.store.release(name, leaseId).catch(() => undefined);
    }
  }

  /** The blob's token when it opens and is good `acceptAfterMs` from now; a blob that does not open is ignored (and overwritten later). */
  async #readUsable(
    name: string,
    cacheKey: string,
    acceptAfterMs: number,
    log: LogTarget | undefined,
  ): Promise<EntraToken | undefined> {
    const value = await this.#call('read', () => this.options.store.read(name));
    if (value === undefined) return undefined;
    const exp = (value as { exp?: unknown } | null)?.exp;
    if (typeof exp === 'number' && exp - acceptAfterMs <= this.options.clock.now()) return undefined;
    try {
      return (this.#keyring as Keyring).open(cacheKey, value);
    } catch (error) {
      if (!(error instanceof SealError)) throw error;
      // Another instance may already seal with a key added since this one loaded its keys.
      if (
        log &&
        error.reason === 'unknown_key_version' &&
        this.options.clock.now() - this.#lastKeyLoad >= UNKNOWN_KEY_RELOAD_MS
      )
        void this.reloadKeys(log);
      if (log) logEvent(log, 'warn', 'shared_cache.unreadable', { reason: error.reason });
      return undefined;
    }
  }

  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new StorageFailure(operation, error);
    }
  }

  #failed(log: LogTarget, error: unknown): void {
    const failure = error instanceof StorageFailure ? error : new StorageFailure('unknown', error);
    const cause = failure.cause as { name?: unknown; statusCode?: unknown } | null;
    const wasDown = this.#lastFailure !== undefined;
    this.#lastFailure = {
      operation: failure.operation,
      errorName: typeof cause?.name === 'string' ? cause.name : 'Error',
      ...(typeof cause?.statusCode === 'number' ? { status: cause.statusCode } : {}),
    };
    this.#downUntil = this.options.clock.now() + this.options.downForMs;
    if (!wasDown) logEvent(log, 'warn', 'shared_cache.unavailable', this.#lastFailure);
  }

  #recovered(log: LogTarget): void {
    if (this.#lastFailure === undefined) return;
    this.#lastFailure = undefined;
    this.#downUntil = 0;
    logEvent(log, 'info', 'shared_cache.recovered', {});
  }
}

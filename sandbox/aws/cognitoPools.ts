// Identity pools from options and the identities they hold, in memory (issue 8): ids as Cognito makes them
// (`<region>:<guid>`), logins linked to identities, and the refusals that name a pool or an identity.
import { randomUUID } from 'node:crypto';
import { CognitoError } from './cognitoWire.js';

/** A public login provider a pool accepts (CreateIdentityPool's `SupportedLoginProviders`). */
export interface LoginProviderSeed {
  /** The app id registered for the provider (e.g. a Google client id); it appears in the token's `amr`. */
  appId: string;
  /**
   * Verifies a provider token and returns the user's id in that provider, or undefined to refuse it. The
   * stand-in accepts no provider token it cannot verify: a provider without a verifier is not supported.
   */
  verify(token: string): Promise<string | undefined>;
}

/** One identity pool. */
export interface CognitoPoolSeed {
  /** `<region>:<guid>`, in the stand-in's region. */
  id: string;
  /** The owning account (12 digits); developer calls must be signed by one of its principals. */
  account: string;
  /** Guests (GetId without logins) are refused unless true. */
  allowUnauthenticatedIdentities?: boolean;
  /** The developer provider name (letters, digits, `.`, `_`, `-`); no developer identities without it. */
  developerProviderName?: string;
  /** Public providers by name (e.g. `accounts.google.com`). */
  loginProviders?: Readonly<Record<string, LoginProviderSeed>>;
  /**
   * Identities that exist from the start, each with its developer user id linked (or a guest without):
   * a sandbox pins one so a federated credential can name its IdentityId before anyone asks for it.
   */
  identities?: ReadonlyArray<{ id: string; developerUserId?: string }>;
}

/** An identity: its id, its pool, and the logins linked to it (provider → user id; none for a guest). */
export interface CognitoIdentity {
  readonly id: string;
  readonly poolId: string;
  readonly logins: ReadonlyMap<string, string>;
}

/** `Logins` key under which a client passes back a token this service issued (the "enhanced" flow). */
export const COGNITO_LOGIN = 'cognito-identity.amazonaws.com';

const POOL_ID = /^[\w-]+:[0-9a-f-]+$/;
const DEVELOPER_PROVIDER = /^[\w._-]{1,128}$/;

/** The pools of one stand-in and every identity created in them. */
export class CognitoPools {
  readonly #pools = new Map<string, CognitoPoolSeed>();
  readonly #identities = new Map<string, { id: string; poolId: string; logins: Map<string, string> }>();
  readonly #byLogin = new Map<string, string>();

  /** Checks every seed, naming the pool and the option at fault. */
  constructor(
    readonly region: string,
    seeds: readonly CognitoPoolSeed[],
  ) {
    for (const seed of seeds) {
      const fail = (what: string) => new Error(`cognito stand-in: pool ${seed.id}: ${what}`);
      if (!POOL_ID.test(seed.id) || seed.id.length > 55) throw fail('id must look like <region>:<guid>');
      if (!seed.id.startsWith(`${region}:`)) throw fail(`id must be in the stand-in's region ${region}`);
      if (!/^\d{12}$/.test(seed.account)) throw fail('account must be 12 digits');
      if (seed.developerProviderName !== undefined && !DEVELOPER_PROVIDER.test(seed.developerProviderName)) {
        throw fail('developerProviderName must be 1-128 letters, digits, ".", "_" or "-"');
      }
      if (seed.developerProviderName !== undefined && seed.loginProviders?.[seed.developerProviderName]) {
        throw fail('developerProviderName must differ from every login provider');
      }
      if (this.#pools.has(seed.id)) throw fail('is given twice');
      this.#pools.set(seed.id, seed);
      for (const pinned of seed.identities ?? []) {
        if (
          !POOL_ID.test(pinned.id) ||
          !pinned.id.startsWith(`${region}:`) ||
          this.#identities.has(pinned.id)
        ) {
          throw fail(`identity ${pinned.id} must be a new <region>:<guid> in the stand-in's region`);
        }
        if (pinned.developerUserId !== undefined && seed.developerProviderName === undefined) {
          throw fail(`identity ${pinned.id} names a developer user, but the pool has no developer provider`);
        }
        this.#identities.set(pinned.id, { id: pinned.id, poolId: seed.id, logins: new Map() });
        if (pinned.developerUserId !== undefined)
          this.link(pinned.id, seed.developerProviderName as string, pinned.developerUserId);
      }
    }
  }

  /** The pool, or ResourceNotFoundException with Cognito's message (aws-sdk-android-samples#163). */
  pool(id: string): CognitoPoolSeed {
    const pool = this.#pools.get(id);
    if (!pool) throw new CognitoError('ResourceNotFoundException', `IdentityPool '${id}' not found.`);
    return pool;
  }

  /** The identity, or ResourceNotFoundException (message UNCONFIRMED). */
  identity(id: string): CognitoIdentity {
    const identity = this.#identities.get(id);
    if (!identity) throw new CognitoError('ResourceNotFoundException', `Identity '${id}' not found.`);
    return identity;
  }

  /** A new identity in the pool, with no login linked yet. */
  create(poolId: string): CognitoIdentity {
    const identity = { id: `${this.region}:${randomUUID()}`, poolId, logins: new Map<string, string>() };
    this.#identities.set(identity.id, identity);
    return identity;
  }

  /** The identity a login is linked to in the pool, if any. */
  findByLogin(poolId: string, provider: string, user: string): CognitoIdentity | undefined {
    const id = this.#byLogin.get(JSON.stringify([poolId, provider, user]));
    return id === undefined ? undefined : this.#identities.get(id);
  }

  /**
   * Links a login to an identity; a login already linked elsewhere is a ResourceConflictException (the real
   * service may merge identities instead; merging is not modelled).
   */
  link(identityId: string, provider: string, user: string): void {
    const identity = this.#identities.get(identityId);
    if (!identity) throw new CognitoError('ResourceNotFoundException', `Identity '${identityId}' not found.`);
    const key = JSON.stringify([identity.poolId, provider, user]);
    const owner = this.#byLogin.get(key);
    if (owner !== undefined && owner !== identityId) {
      throw new CognitoError('ResourceConflictException', 'The login is already linked to another identity.');
    }
    this.#byLogin.set(key, identityId);
    identity.logins.set(provider, user);
  }

  /** Every identity created so far, oldest first. */
  identities(): CognitoIdentity[] {
    return [...this.#identities.values()];
  }
}

/**
 * The token's `amr`: `["unauthenticated"]` for a guest; otherwise `["authenticated", provider,
 * "<provider>:<id>:<user>"]`, where `<id>` is the pool id for the developer provider (observed, §C.3) and
 * the provider's app id for a public one (UNCONFIRMED).
 */
export function amrOf(pool: CognitoPoolSeed, identity: CognitoIdentity, provider?: string): string[] {
  const chosen = provider ?? identity.logins.keys().next().value;
  const user = chosen === undefined ? undefined : identity.logins.get(chosen);
  if (chosen === undefined || user === undefined) return ['unauthenticated'];
  const scope =
    chosen === pool.developerProviderName ? pool.id : (pool.loginProviders?.[chosen]?.appId ?? '');
  return ['authenticated', chosen, `${chosen}:${scope}:${user}`];
}

// The vault's secrets in memory: every PUT adds a version with a 32-hex id; names compare ignoring case,
// as Key Vault's object identifiers do (about-keys-secrets-certificates.md, "Object identifiers").
import { randomBytes } from 'node:crypto';
import type { Clock } from './options.js';

/** One version of a secret. Times are epoch seconds (Key Vault's IntDate). */
export interface SecretVersion {
  /** 32 lower-case hex digits, system-generated. */
  version: string;
  value: string;
  contentType: string | undefined;
  tags: Readonly<Record<string, string>> | undefined;
  enabled: boolean;
  nbf: number | undefined;
  exp: number | undefined;
  created: number;
  updated: number;
}

/** A secret: the name as first written, and its versions in creation order (the last is the current one). */
export interface StoredSecret {
  name: string;
  versions: SecretVersion[];
}

/** What a PUT sets on the new version (already validated by ./secretWire.ts). */
export interface NewVersion {
  value: string;
  contentType?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
  enabled?: boolean | undefined;
  nbf?: number | undefined;
  exp?: number | undefined;
}

/** What a PATCH changes; absent fields stay as they are ("Attributes that are not specified ... are left unchanged"). */
export interface VersionPatch {
  contentType?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
  enabled?: boolean | undefined;
  nbf?: number | undefined;
  exp?: number | undefined;
}

/** The store. Not persistent: a restarted stand-in is an empty vault. */
export class SecretStore {
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Adds a version (creating the secret on first use) and makes it current. */
  set(name: string, input: NewVersion): { secret: StoredSecret; version: SecretVersion } {
    const key = name.toUpperCase();
    const secret = this.#secrets.get(key) ?? { name, versions: [] };
    this.#secrets.set(key, secret);
    const now = this.#nowSeconds();
    const version: SecretVersion = {
      version: randomBytes(16).toString('hex'),
      value: input.value,
      contentType: input.contentType,
      tags: input.tags,
      enabled: input.enabled ?? true,
      nbf: input.nbf,
      exp: input.exp,
      created: now,
      updated: now,
    };
    secret.versions.push(version);
    return { secret, version };
  }

  /** The secret with this name, compared ignoring case. */
  find(name: string): StoredSecret | undefined {
    return this.#secrets.get(name.toUpperCase());
  }

  /** A version of a secret: the current one when `version` is empty; ids compare ignoring case. */
  findVersion(name: string, version: string): { secret: StoredSecret; version: SecretVersion } | undefined {
    const secret = this.find(name);
    const found =
      version === ''
        ? secret?.versions.at(-1)
        : secret?.versions.find((candidate) => candidate.version === version.toLowerCase());
    return secret && found ? { secret, version: found } : undefined;
  }

  /** Applies a PATCH to one version and stamps `updated`. */
  update(
    name: string,
    version: string,
    patch: VersionPatch,
  ): { secret: StoredSecret; version: SecretVersion } | undefined {
    const found = this.findVersion(name, version);
    if (!found) return undefined;
    const target = found.version;
    if (patch.contentType !== undefined) target.contentType = patch.contentType;
    if (patch.tags !== undefined) target.tags = patch.tags;
    if (patch.enabled !== undefined) target.enabled = patch.enabled;
    if (patch.nbf !== undefined) target.nbf = patch.nbf;
    if (patch.exp !== undefined) target.exp = patch.exp;
    target.updated = this.#nowSeconds();
    return found;
  }

  /**
   * Every secret, ordered by upper-cased name: Key Vault pages by its storage key, which holds the name
   * upper-cased (the NextMarker inside a recorded `$skiptoken` reads `secret/<NAME>/<VERSION>`).
   */
  secrets(): StoredSecret[] {
    return [...this.#secrets.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, secret]) => secret);
  }

  /** A secret's versions ordered by version id, the same storage-key order (recorded version listings). */
  versions(name: string): SecretVersion[] {
    const secret = this.find(name);
    if (!secret) return [];
    return [...secret.versions].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  }

  /** Removes every secret. */
  clear(): void {
    this.#secrets.clear();
  }

  #nowSeconds(): number {
    return Math.floor(this.#clock.now() / 1000);
  }
}

// The Entra stand-in's in-memory directory: tenant, client and resource look-ups, and FIC management.
import { loadDirectorySeed, type TenantState } from './directorySeed.js';
import {
  createFic,
  deleteFic,
  type FicExistingMode,
  type FicKey,
  findFic,
  type PutFicOutcome,
  putFic,
  updateFic,
} from './ficStore.js';
import { type FicInput, type FicOwnerKind, type FicResult, ficError } from './ficValidation.js';
import { FIRST_PARTY_RESOURCES, resourceMatches } from './firstPartyResources.js';
import type {
  Application,
  Client,
  DirectoryReader,
  DirectorySeed,
  FederatedIdentityCredential,
  ManagedIdentity,
  Resource,
  Tenant,
} from './model.js';

/** Names the application or user-assigned managed identity whose FICs an operation touches. */
export type FicOwnerRef =
  | { kind: 'application'; objectId: string }
  | { kind: 'managedIdentity'; subscriptionId: string; resourceGroup: string; name: string };

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The stand-in's directory. Every read returns a copy (structuredClone), so callers (the token
 * endpoint, the HTTP layers) can never change state except through the FIC methods, which apply the
 * rules of entra-federation.md and protocols.md §A.7/§A.8 and return a typed error instead of throwing.
 */
export class Directory implements DirectoryReader {
  readonly #tenants: TenantState[];

  private constructor(tenants: TenantState[]) {
    this.#tenants = tenants;
  }

  /** Builds a directory from a seed; throws an Error naming the offending object when the seed breaks a rule. */
  static fromSeed(seed: DirectorySeed): Directory {
    return new Directory(loadDirectorySeed(seed));
  }

  /** Finds a tenant by GUID or verified domain, ignoring case (Entra tenant names are case-insensitive). */
  findTenant(idOrDomain: string): Tenant | undefined {
    return copy(this.#tenantState(idOrDomain)?.tenant);
  }

  /** Finds an app registration (by appId) or managed identity (by clientId) in a tenant given by GUID or domain. */
  findClient(tenantId: string, clientId: string): Client | undefined {
    const state = this.#tenantState(tenantId);
    if (!state) return undefined;
    const app = state.applications.find((candidate) => same(candidate.appId, clientId));
    return copy(app ?? state.managedIdentities.find((candidate) => same(candidate.clientId, clientId)));
  }

  /**
   * Finds a resource by identifier URI or app id (trailing slash and case tolerated, see
   * firstPartyResources.ts). Order: first-party resources, the seed's resources, then the tenant's apps:
   * every app is addressable by appId, and by its identifierUris when it has any.
   */
  findResource(tenantId: string, identifier: string): Resource | undefined {
    const state = this.#tenantState(tenantId);
    if (!state) return undefined;
    const known = [...FIRST_PARTY_RESOURCES, ...state.resources].find((r) => resourceMatches(r, identifier));
    if (known) return copy(known);
    const app = state.applications.find((candidate) => resourceMatches(asResource(candidate), identifier));
    return app ? asResource(app) : undefined;
  }

  /** Finds an application by Graph object id, in any tenant (object ids are unique across the stand-in). */
  findApplicationByObjectId(objectId: string): Application | undefined {
    return copy(this.#applications().find((app) => same(app.id, objectId)));
  }

  /** Finds an application by client id, in any tenant (Graph's `applications(appId='…')`). */
  findApplicationByAppId(appId: string): Application | undefined {
    return copy(this.#applications().find((app) => same(app.appId, appId)));
  }

  /** Finds a user-assigned managed identity by its ARM coordinates (names compare without case, as ARM does). */
  findManagedIdentity(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
  ): ManagedIdentity | undefined {
    return copy(this.#managedIdentity(subscriptionId, resourceGroup, name));
  }

  /** Every tenant. */
  listTenants(): Tenant[] {
    return this.#tenants.map((state) => copy(state.tenant));
  }

  /** Every application, or those of one tenant. */
  listApplications(tenantId?: string): Application[] {
    return copy(
      tenantId === undefined ? this.#applications() : (this.#tenantState(tenantId)?.applications ?? []),
    );
  }

  /** Every managed identity, or those of one tenant. */
  listManagedIdentities(tenantId?: string): ManagedIdentity[] {
    const all = this.#tenants.flatMap((state) => state.managedIdentities);
    return copy(tenantId === undefined ? all : (this.#tenantState(tenantId)?.managedIdentities ?? []));
  }

  /** The owner's FICs, in creation order. */
  listFics(owner: FicOwnerRef): FicResult<FederatedIdentityCredential[]> {
    return this.#withOwner(owner, (list) => ({ ok: true, value: copy(list) }));
  }

  /** One FIC by id or by name. */
  getFic(owner: FicOwnerRef, key: FicKey): FicResult<FederatedIdentityCredential> {
    return this.#withOwner(owner, (list) => {
      const fic = findFic(list, key);
      if (fic) return { ok: true, value: copy(fic) };
      const value = 'id' in key ? key.id : key.name;
      return {
        ok: false,
        error: ficError('fic_not_found', `no federated identity credential ${value}`, value),
      };
    });
  }

  /** Creates a FIC (Graph POST); the name must be new for this owner. */
  createFic(owner: FicOwnerRef, input: FicInput): FicResult<FederatedIdentityCredential> {
    return this.#withOwner(owner, (list, kind) => createFic(list, kind, input));
  }

  /** Partially updates a FIC (Graph PATCH); the name is immutable. */
  updateFic(owner: FicOwnerRef, key: FicKey, patch: FicInput): FicResult<FederatedIdentityCredential> {
    return this.#withOwner(owner, (list, kind) => updateFic(list, kind, key, patch));
  }

  /**
   * Creates the FIC with this name or updates it: `merge` for Graph's upsert, `replace` for ARM's PUT.
   * `created` in the result says which happened.
   */
  upsertFicByName(
    owner: FicOwnerRef,
    name: string,
    input: FicInput,
    mode: FicExistingMode,
  ): FicResult<PutFicOutcome> {
    return this.#withOwner(owner, (list, kind) => putFic(list, kind, name, input, mode));
  }

  /** Deletes a FIC and returns what was deleted. */
  deleteFic(owner: FicOwnerRef, key: FicKey): FicResult<FederatedIdentityCredential> {
    return this.#withOwner(owner, (list) => deleteFic(list, key));
  }

  #withOwner<T>(
    owner: FicOwnerRef,
    run: (list: FederatedIdentityCredential[], kind: FicOwnerKind) => FicResult<T>,
  ): FicResult<T> {
    const found =
      owner.kind === 'application'
        ? this.#applications().find((app) => same(app.id, owner.objectId))
        : this.#managedIdentity(owner.subscriptionId, owner.resourceGroup, owner.name);
    if (!found) {
      const value = owner.kind === 'application' ? owner.objectId : owner.name;
      return { ok: false, error: ficError('owner_not_found', `no ${owner.kind} ${value}`, value) };
    }
    return run(found.federatedIdentityCredentials, owner.kind);
  }

  #tenantState(idOrDomain: string): TenantState | undefined {
    return this.#tenants.find(
      (state) =>
        same(state.tenant.id, idOrDomain) || state.tenant.domains.some((domain) => same(domain, idOrDomain)),
    );
  }

  #applications(): Application[] {
    return this.#tenants.flatMap((state) => state.applications);
  }

  #managedIdentity(subscriptionId: string, resourceGroup: string, name: string): ManagedIdentity | undefined {
    return this.#tenants
      .flatMap((state) => state.managedIdentities)
      .find(
        (mi) =>
          same(mi.subscriptionId, subscriptionId) &&
          same(mi.resourceGroup, resourceGroup) &&
          same(mi.name, name),
      );
  }
}

// A resource view of an app registration: its token version is the app's requestedAccessTokenVersion (§A.9).
function asResource(app: Application): Resource {
  return {
    appId: app.appId,
    identifierUris: [...app.identifierUris],
    displayName: app.displayName,
    accessTokenVersion: app.requestedAccessTokenVersion,
  };
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

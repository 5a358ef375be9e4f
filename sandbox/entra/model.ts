// The Entra stand-in's data model: tenants, app registrations, user-assigned managed identities,
// resources (APIs a token can be issued for) and federated identity credentials (FICs).
// Rules on these objects come from ../shared/design/entra-federation.md and protocols.md §A.7–A.9.

/** Graph's federatedIdentityExpression (flexible FIC), language version 1 (protocols.md §A.7). */
export interface FederatedIdentityExpression {
  value: string;
  languageVersion: 1;
}

/** A federated identity credential as Microsoft Graph returns it. */
export interface FederatedIdentityCredential {
  id: string;
  name: string;
  issuer: string;
  /** Null only when claimsMatchingExpression is set (the two are mutually exclusive). */
  subject: string | null;
  /** Exactly one value. */
  audiences: string[];
  description: string | null;
  claimsMatchingExpression: FederatedIdentityExpression | null;
}

export interface Tenant {
  /** Tenant GUID. */
  id: string;
  /** Verified domain names, e.g. contoso.onmicrosoft.com; the token endpoint accepts either form. */
  domains: string[];
  displayName: string;
  /**
   * Microsoft Graph application permissions (app roles such as `Application.ReadWrite.All`) granted to
   * callers of this tenant, by caller client id. Graph is a first-party resource, not an application of
   * the seed, so its grants live on the tenant; they become `roles` in tokens issued for Graph. Absent
   * when the seed grants none.
   */
  graphPermissions?: Record<string, string[]>;
}

/** An app registration (Graph `application`) with its service principal folded in. */
export interface Application {
  kind: 'application';
  tenantId: string;
  /** Graph object id. */
  id: string;
  /** Client id. */
  appId: string;
  /** Object id of the app's service principal: the `oid`/`sub` of its app-only tokens. */
  servicePrincipalId: string;
  displayName: string;
  /** App ID URIs under which this app can also be a resource (e.g. api://my-api). */
  identifierUris: string[];
  /** Graph `api.requestedAccessTokenVersion`: the version of tokens issued *for* this app as a resource. */
  requestedAccessTokenVersion: 1 | 2;
  /** App roles granted to callers, by caller client id (appears in `roles`). */
  appRoleAssignments: Record<string, string[]>;
  federatedIdentityCredentials: FederatedIdentityCredential[];
}

/** A user-assigned managed identity (ARM `Microsoft.ManagedIdentity/userAssignedIdentities`). */
export interface ManagedIdentity {
  kind: 'managedIdentity';
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Client id. */
  clientId: string;
  /** Object (principal) id: the `oid`/`sub` of its tokens. */
  principalId: string;
  federatedIdentityCredentials: FederatedIdentityCredential[];
}

/** Something that can authenticate at the token endpoint. */
export type Client = Application | ManagedIdentity;

/** A resource a token can be issued for (first-party APIs are seeded; apps with identifierUris are too). */
export interface Resource {
  /** Resource app id (GUID). Becomes `aud` in v2 tokens. */
  appId: string;
  /** Identifier URIs, e.g. https://vault.azure.net; matched against the scope without `/.default`. */
  identifierUris: string[];
  displayName: string;
  /** Version of the access tokens Entra issues for this resource (protocols.md §A.9). */
  accessTokenVersion: 1 | 2;
}

/** The seed file's shape (sandbox/entra/seed.json and any file passed to the launcher). */
export interface DirectorySeed {
  tenants: Array<{
    id: string;
    domains?: string[];
    displayName?: string;
    /** Graph app roles by caller client id (see Tenant.graphPermissions). */
    graphPermissions?: Record<string, string[]>;
    applications?: Array<{
      id?: string;
      appId: string;
      servicePrincipalId?: string;
      displayName: string;
      identifierUris?: string[];
      requestedAccessTokenVersion?: 1 | 2;
      appRoleAssignments?: Record<string, string[]>;
      federatedIdentityCredentials?: Array<Omit<FederatedIdentityCredential, 'id'> & { id?: string }>;
    }>;
    managedIdentities?: Array<{
      subscriptionId: string;
      resourceGroup: string;
      name: string;
      clientId: string;
      principalId: string;
      federatedIdentityCredentials?: Array<Omit<FederatedIdentityCredential, 'id'> & { id?: string }>;
    }>;
    /** Extra resources beyond the first-party ones every tenant has. */
    resources?: Resource[];
  }>;
}

/** Read side of the directory, as the token endpoint sees it. */
export interface DirectoryReader {
  /** Finds a tenant by GUID or verified domain (case-insensitive, as Entra is for tenant names). */
  findTenant(idOrDomain: string): Tenant | undefined;
  /** Finds an app registration or user-assigned managed identity by client id within a tenant. */
  findClient(tenantId: string, clientId: string): Client | undefined;
  /**
   * Finds the resource a scope or v1 `resource` names, by identifier URI or app id; the caller strips
   * `/.default` first. Includes the first-party resources and every app with identifierUris.
   */
  findResource(tenantId: string, identifier: string): Resource | undefined;
}

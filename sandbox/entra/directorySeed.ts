// Checks a directory seed (parsed JSON, so untrusted in shape) and builds the tenants' state from it.
import { randomUUID } from 'node:crypto';
import { createFic } from './ficStore.js';
import type { FicInput, FicOwnerKind } from './ficValidation.js';
import type { Application, FederatedIdentityCredential, ManagedIdentity, Resource, Tenant } from './model.js';

/** One tenant's objects, as the Directory holds them. */
export interface TenantState {
  tenant: Tenant;
  applications: Application[];
  managedIdentities: ManagedIdentity[];
  resources: Resource[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Json = Record<string, unknown>;

/**
 * Validates a seed (the DirectorySeed shape of model.ts) with the same rules the APIs apply, and builds
 * the state. Throws an Error naming the offending object (tenant, app, identity, FIC) on the first problem.
 * Object ids and client ids must be unique across the whole directory: Graph and ARM paths carry no tenant.
 */
export function loadDirectorySeed(seed: unknown): TenantState[] {
  const unique = new Uniqueness();
  const tenants = array(object(seed, 'seed').tenants, 'seed.tenants', true);
  return tenants.map((raw, index) => {
    const where = `tenant #${index}`;
    const json = object(raw, where);
    const id = guid(json.id, `${where} id`);
    const named = `tenant '${id}'`;
    unique.claim(`tenant ${id}`, named);
    const domains = array(json.domains, `${named} domains`).map((d, i) => text(d, `${named} domains[${i}]`));
    for (const domain of domains) unique.claim(`domain ${domain}`, `${named} domain '${domain}'`);
    const displayName =
      json.displayName === undefined ? (domains[0] ?? id) : text(json.displayName, `${named} displayName`);
    const tenant: Tenant = { id, domains, displayName };
    if (json.graphPermissions !== undefined)
      tenant.graphPermissions = loadRoleAssignments(json.graphPermissions, named, 'graphPermissions');
    return {
      tenant,
      applications: array(json.applications, `${named} applications`).map((app, i) =>
        loadApplication(app, `${named} application #${i}`, id, unique),
      ),
      managedIdentities: array(json.managedIdentities, `${named} managedIdentities`).map((mi, i) =>
        loadManagedIdentity(mi, `${named} managed identity #${i}`, id, unique),
      ),
      resources: array(json.resources, `${named} resources`).map((r, i) =>
        loadResource(r, `${named} resource #${i}`),
      ),
    };
  });
}

function loadApplication(raw: unknown, where: string, tenantId: string, unique: Uniqueness): Application {
  const json = object(raw, where);
  const appId = guid(json.appId, `${where} appId`);
  const named = `application '${typeof json.displayName === 'string' ? json.displayName : appId}' (appId ${appId})`;
  const displayName = text(json.displayName, `${named} displayName`);
  const id = json.id === undefined ? randomUUID() : guid(json.id, `${named} id`);
  const servicePrincipalId =
    json.servicePrincipalId === undefined
      ? randomUUID()
      : guid(json.servicePrincipalId, `${named} servicePrincipalId`);
  unique.claim(`client ${appId}`, named);
  unique.claim(`object ${id}`, `${named} id`);
  unique.claim(`object ${servicePrincipalId}`, `${named} servicePrincipalId`);
  const version = json.requestedAccessTokenVersion ?? 1;
  if (version !== 1 && version !== 2) fail(`${named} requestedAccessTokenVersion`, 'must be 1 or 2');
  return {
    kind: 'application',
    tenantId,
    id,
    appId,
    servicePrincipalId,
    displayName,
    identifierUris: array(json.identifierUris, `${named} identifierUris`).map((u, i) =>
      text(u, `${named} identifierUris[${i}]`),
    ),
    requestedAccessTokenVersion: version,
    appRoleAssignments: loadRoleAssignments(json.appRoleAssignments, named, 'appRoleAssignments'),
    federatedIdentityCredentials: seedFics(json.federatedIdentityCredentials, 'application', named, unique),
  };
}

function loadManagedIdentity(
  raw: unknown,
  where: string,
  tenantId: string,
  unique: Uniqueness,
): ManagedIdentity {
  const json = object(raw, where);
  const name = text(json.name, `${where} name`);
  const named = `managed identity '${name}'`;
  const subscriptionId = guid(json.subscriptionId, `${named} subscriptionId`);
  const resourceGroup = text(json.resourceGroup, `${named} resourceGroup`);
  const clientId = guid(json.clientId, `${named} clientId`);
  const principalId = guid(json.principalId, `${named} principalId`);
  unique.claim(`client ${clientId}`, named);
  unique.claim(`object ${principalId}`, `${named} principalId`);
  unique.claim(`arm ${subscriptionId}/${resourceGroup}/${name}`, named);
  return {
    kind: 'managedIdentity',
    tenantId,
    subscriptionId,
    resourceGroup,
    name,
    clientId,
    principalId,
    federatedIdentityCredentials: seedFics(
      json.federatedIdentityCredentials,
      'managedIdentity',
      named,
      unique,
    ),
  };
}

function loadResource(raw: unknown, where: string): Resource {
  const json = object(raw, where);
  const appId = guid(json.appId, `${where} appId`);
  const version = json.accessTokenVersion;
  if (version !== 1 && version !== 2) fail(`${where} accessTokenVersion`, 'must be 1 or 2');
  return {
    appId,
    identifierUris: array(json.identifierUris, `${where} identifierUris`).map((u, i) =>
      text(u, `${where} uri #${i}`),
    ),
    displayName: text(json.displayName, `${where} displayName`),
    accessTokenVersion: version,
  };
}

// Roles by caller client id: an application's appRoleAssignments, or a tenant's graphPermissions.
function loadRoleAssignments(raw: unknown, named: string, field: string): Record<string, string[]> {
  const assignments: Record<string, string[]> = {};
  for (const [caller, roles] of Object.entries(raw === undefined ? {} : object(raw, `${named} ${field}`))) {
    const where = `${named} ${field}['${caller}']`;
    assignments[guid(caller, where)] = array(roles, where, true).map((role, i) =>
      text(role, `${where}[${i}]`),
    );
  }
  return assignments;
}

// FICs go through createFic, so a seed obeys exactly the rules Graph and ARM enforce.
function seedFics(
  raw: unknown,
  kind: FicOwnerKind,
  named: string,
  unique: Uniqueness,
): FederatedIdentityCredential[] {
  const list: FederatedIdentityCredential[] = [];
  array(raw, `${named} federatedIdentityCredentials`).forEach((item, i) => {
    const json = object(item, `${named} federated identity credential #${i}`);
    const where = `${named} federated identity credential '${typeof json.name === 'string' ? json.name : `#${i}`}'`;
    const id = json.id === undefined ? randomUUID() : guid(json.id, `${where} id`);
    unique.claim(`fic ${id}`, where);
    const created = createFic(list, kind, ficInput(json, where), id);
    if (!created.ok) fail(where, created.error.message);
  });
  return list;
}

function ficInput(json: Json, where: string): FicInput {
  const field = (name: string, nullable: boolean): string | null | undefined => {
    const value = json[name];
    if (value === undefined || (nullable && value === null) || typeof value === 'string') return value;
    return fail(`${where} ${name}`, `must be a string${nullable ? ' or null' : ''}`);
  };
  const audiences = json.audiences === undefined ? undefined : array(json.audiences, `${where} audiences`);
  for (const [i, a] of (audiences ?? []).entries()) {
    if (typeof a !== 'string') fail(`${where} audiences[${i}]`, 'must be a string');
  }
  const expression = json.claimsMatchingExpression;
  let claimsMatchingExpression: FicInput['claimsMatchingExpression'] = null;
  if (expression !== undefined && expression !== null) {
    const e = object(expression, `${where} claimsMatchingExpression`);
    if (typeof e.value !== 'string' || typeof e.languageVersion !== 'number') {
      fail(`${where} claimsMatchingExpression`, 'must have a string value and a numeric languageVersion');
    }
    claimsMatchingExpression = { value: e.value, languageVersion: e.languageVersion };
  }
  return {
    name: field('name', false) ?? undefined,
    issuer: field('issuer', false) ?? undefined,
    subject: field('subject', true),
    audiences: audiences as string[] | undefined,
    description: field('description', true),
    claimsMatchingExpression,
  };
}

/** Remembers which keys are taken; ids are compared without case, as Entra does for GUIDs and domains. */
class Uniqueness {
  readonly #owners = new Map<string, string>();
  claim(key: string, owner: string): void {
    const previous = this.#owners.get(key.toLowerCase());
    if (previous !== undefined) fail(owner, `duplicates ${previous}`);
    this.#owners.set(key.toLowerCase(), owner);
  }
}

/** Throws the seed error: `invalid Entra seed: <what>: <problem>`. */
export function fail(where: string, problem: string): never {
  throw new Error(`invalid Entra seed: ${where}: ${problem}`);
}

/** Requires a plain object. */
export function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'must be an object');
  return value as Json;
}

/** An optional array (absent → empty), or a required one. */
export function array(value: unknown, where: string, required = false): unknown[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) fail(where, 'must be an array');
  return value;
}

/** A non-empty string. */
export function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(where, 'must be a non-empty string');
  return value;
}

function guid(value: unknown, where: string): string {
  if (typeof value !== 'string' || !GUID.test(value)) fail(where, 'must be a GUID');
  return value.toLowerCase();
}

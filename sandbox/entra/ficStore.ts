// FIC mutations on one owner's list (create, update, create-or-update by name, delete), applying ficValidation.ts.
import { randomUUID } from 'node:crypto';
import {
  checkFicSiblings,
  type FicError,
  type FicInput,
  type FicOwnerKind,
  type FicResult,
  ficError,
  hasSubject,
  sameFicName,
  validateFicFields,
} from './ficValidation.js';
import type { FederatedIdentityCredential } from './model.js';

/** Addresses one FIC of an owner: by its id, or by its name (the alternate key, case-insensitive). */
export type FicKey = { id: string } | { name: string };

/** What to do when a create-or-update by name finds an existing FIC. */
export type FicExistingMode =
  /** Graph upsert: a partial update of the fields given. */
  | 'merge'
  /** ARM PUT: the body replaces every field. */
  | 'replace';

/** Outcome of {@link putFic}: the FIC as stored and whether it was created. */
export interface PutFicOutcome {
  fic: FederatedIdentityCredential;
  created: boolean;
}

/** Finds a FIC by key; ids compare case-insensitively like every GUID in the directory. */
export function findFic(
  list: readonly FederatedIdentityCredential[],
  key: FicKey,
): FederatedIdentityCredential | undefined {
  return 'id' in key
    ? list.find((fic) => fic.id.toLowerCase() === key.id.toLowerCase())
    : list.find((fic) => sameFicName(fic.name, key.name));
}

/** Validates and appends a new FIC with a fresh id; fails on any rule of protocols.md §A.7/§A.8. */
export function createFic(
  list: FederatedIdentityCredential[],
  ownerKind: FicOwnerKind,
  input: FicInput,
  id: string = randomUUID(),
): FicResult<FederatedIdentityCredential> {
  const candidate = normalize(input);
  const problem = validateFicFields(candidate, ownerKind) ?? checkFicSiblings(list, candidate, true);
  if (problem) return { ok: false, error: problem };
  const fic: FederatedIdentityCredential = { id, ...candidate };
  list.push(fic);
  return { ok: true, value: structuredClone(fic) };
}

/**
 * Applies a partial update (Graph PATCH): absent fields stay, null clears. The name is immutable: a patch
 * may repeat it but not change it (§A.7).
 */
export function updateFic(
  list: FederatedIdentityCredential[],
  ownerKind: FicOwnerKind,
  key: FicKey,
  patch: FicInput,
): FicResult<FederatedIdentityCredential> {
  const existing = findFic(list, key);
  if (!existing) return notFound(key);
  if (patch.name !== undefined && patch.name !== existing.name) {
    return { ok: false, error: ficError('name_immutable', 'name cannot be changed', patch.name) };
  }
  const merged: FicInput = { ...existing };
  for (const [field, value] of Object.entries(patch) as Array<[keyof FicInput, unknown]>) {
    if (value !== undefined) Object.assign(merged, { [field]: value });
  }
  return replaceIn(list, ownerKind, existing, merged);
}

/**
 * Create-or-update by name (Graph upsert with `Prefer: create-if-missing`, ARM PUT). A name in the body
 * must match the one in the URL. `created` tells the caller which status to answer.
 */
export function putFic(
  list: FederatedIdentityCredential[],
  ownerKind: FicOwnerKind,
  name: string,
  input: FicInput,
  mode: FicExistingMode,
): FicResult<PutFicOutcome> {
  if (input.name !== undefined && !sameFicName(input.name, name)) {
    return {
      ok: false,
      error: ficError('name_immutable', 'the name in the body differs from the name in the URL', input.name),
    };
  }
  const existing = findFic(list, { name });
  if (!existing) {
    const created = createFic(list, ownerKind, { ...input, name });
    return created.ok ? { ok: true, value: { fic: created.value, created: true } } : created;
  }
  const updated =
    mode === 'merge'
      ? updateFic(list, ownerKind, { id: existing.id }, { ...input, name: undefined })
      : replaceIn(list, ownerKind, existing, { ...input, name: existing.name });
  return updated.ok ? { ok: true, value: { fic: updated.value, created: false } } : updated;
}

/** Removes a FIC and returns it. */
export function deleteFic(
  list: FederatedIdentityCredential[],
  key: FicKey,
): FicResult<FederatedIdentityCredential> {
  const existing = findFic(list, key);
  if (!existing) return notFound(key);
  list.splice(list.indexOf(existing), 1);
  return { ok: true, value: existing };
}

function replaceIn(
  list: FederatedIdentityCredential[],
  ownerKind: FicOwnerKind,
  existing: FederatedIdentityCredential,
  input: FicInput,
): FicResult<FederatedIdentityCredential> {
  const candidate = normalize(input);
  const siblings = list.filter((fic) => fic !== existing);
  const problem = validateFicFields(candidate, ownerKind) ?? checkFicSiblings(siblings, candidate, false);
  if (problem) return { ok: false, error: problem };
  Object.assign(existing, candidate);
  return { ok: true, value: structuredClone(existing) };
}

type NormalizedFic = Omit<FederatedIdentityCredential, 'id'>;

// Stored shape: absent optional fields become null; an empty subject is stored as null. The cast on the
// expression is safe only after validateFicFields has checked languageVersion === 1.
function normalize(input: FicInput): NormalizedFic {
  return {
    name: input.name ?? '',
    issuer: input.issuer ?? '',
    subject: hasSubject(input.subject) ? input.subject : null,
    audiences: input.audiences ? [...input.audiences] : [],
    description: input.description ?? null,
    claimsMatchingExpression: input.claimsMatchingExpression
      ? {
          value: input.claimsMatchingExpression.value,
          languageVersion: input.claimsMatchingExpression.languageVersion as 1,
        }
      : null,
  };
}

function notFound(key: FicKey): { ok: false; error: FicError } {
  const value = 'id' in key ? key.id : key.name;
  return { ok: false, error: ficError('fic_not_found', `no federated identity credential ${value}`, value) };
}

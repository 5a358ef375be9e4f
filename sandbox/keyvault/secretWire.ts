// The secrets wire format: request bodies as Key Vault validates them, response bundles and list items as
// @azure/keyvault-secrets deserializes them, and pages linked by `nextLink` (shapes from the SDK's
// models.js and its recorded real responses).
import type { NewVersion, SecretVersion, StoredSecret, VersionPatch } from './secretStore.js';
import { badParameter, type VaultRefusal } from './vaultErrors.js';

/** "a maximum size of 25k bytes" (about-secrets.md); read as 25 × 1024, the exact boundary UNCONFIRMED. */
export const MAX_VALUE_BYTES = 25 * 1024;
/** "Key Vault supports up to 15 tags, each of which can have a 512-character name and ... value" (about-secrets.md). */
export const MAX_TAGS = 15;
export const MAX_TAG_CHARS = 512;
/** "If not specified, the service will return up to 25 results" (REST spec `maxresults`, minimum 1, maximum 25). */
export const MAX_PAGE_SIZE = 25;

/** Recovery settings every `attributes` object reports. */
export interface RecoveryInfo {
  recoveryLevel: string;
  recoverableDays: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; refusal: VaultRefusal };
const refuse = (message: string): Parsed<never> => ({ ok: false, refusal: badParameter(message) });

/** Parses a PUT body: `value` (string, required), `contentType`, `tags`, `attributes {enabled, nbf, exp}`. */
export function parseSetBody(body: unknown): Parsed<NewVersion> {
  if (!isObject(body)) return refuse('The request body must be a JSON object.');
  if (typeof body.value !== 'string')
    return refuse("The parameter 'value' is required and must be a string.");
  if (Buffer.byteLength(body.value, 'utf8') > MAX_VALUE_BYTES) {
    return refuse(`The secret value exceeds the maximum size of ${MAX_VALUE_BYTES} bytes.`);
  }
  const common = parseCommon(body);
  return common.ok ? { ok: true, value: { value: body.value, ...common.value } } : common;
}

/** Parses a PATCH body: `contentType`, `tags`, `attributes`; all optional. */
export function parseUpdateBody(body: unknown): Parsed<VersionPatch> {
  if (!isObject(body)) return refuse('The request body must be a JSON object.');
  return parseCommon(body);
}

function parseCommon(body: Record<string, unknown>): Parsed<VersionPatch> {
  const { contentType, tags, attributes } = body;
  if (contentType != null && typeof contentType !== 'string')
    return refuse("'contentType' must be a string.");
  const parsedTags = parseTags(tags);
  if (!parsedTags.ok) return parsedTags;
  if (attributes != null && !isObject(attributes)) return refuse("'attributes' must be an object.");
  const { enabled, nbf, exp } = attributes ?? {};
  if (enabled != null && typeof enabled !== 'boolean')
    return refuse("'attributes.enabled' must be a boolean.");
  for (const [name, time] of [
    ['nbf', nbf],
    ['exp', exp],
  ] as const) {
    if (time != null && !Number.isInteger(time))
      return refuse(`'attributes.${name}' must be an IntDate (seconds).`);
  }
  return {
    ok: true,
    value: {
      contentType: contentType ?? undefined,
      tags: parsedTags.value,
      enabled: (enabled ?? undefined) as boolean | undefined,
      nbf: (nbf ?? undefined) as number | undefined,
      exp: (exp ?? undefined) as number | undefined,
    },
  };
}

function parseTags(tags: unknown): Parsed<Record<string, string> | undefined> {
  if (tags == null) return { ok: true, value: undefined };
  if (!isObject(tags)) return refuse("'tags' must be an object of strings.");
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) return refuse(`A secret can have at most ${MAX_TAGS} tags.`);
  for (const [name, value] of entries) {
    if (typeof value !== 'string') return refuse(`Tag '${name}' must have a string value.`);
    if (name.length > MAX_TAG_CHARS || value.length > MAX_TAG_CHARS) {
      return refuse(`Tag names and values are limited to ${MAX_TAG_CHARS} characters.`);
    }
  }
  return { ok: true, value: Object.fromEntries(entries) as Record<string, string> };
}

/** `attributes` as Key Vault returns them; `nbf`/`exp` only when set (recorded responses). */
export function attributesJson(version: SecretVersion, recovery: RecoveryInfo): Record<string, unknown> {
  return {
    enabled: version.enabled,
    ...(version.nbf !== undefined ? { nbf: version.nbf } : {}),
    ...(version.exp !== undefined ? { exp: version.exp } : {}),
    created: version.created,
    updated: version.updated,
    recoveryLevel: recovery.recoveryLevel,
    recoverableDays: recovery.recoverableDays,
  };
}

/**
 * A SecretBundle: `id` = `{vault}/secrets/{name}/{version}`. GET and PUT include `value`; PATCH does not
 * (recording "can update a disabled secret").
 */
export function secretBundle(
  vaultUrl: string,
  secret: StoredSecret,
  version: SecretVersion,
  recovery: RecoveryInfo,
  withValue: boolean,
): Record<string, unknown> {
  return {
    ...(withValue ? { value: version.value } : {}),
    id: `${vaultUrl}/secrets/${secret.name}/${version.version}`,
    ...optionalFields(version),
    attributes: attributesJson(version, recovery),
  };
}

/** A SecretItem of a listing: the base id (`/secrets/{name}`) in `GET /secrets`, the versioned id otherwise. */
export function secretItem(
  vaultUrl: string,
  secret: StoredSecret,
  version: SecretVersion,
  recovery: RecoveryInfo,
  versioned: boolean,
): Record<string, unknown> {
  const base = `${vaultUrl}/secrets/${secret.name}`;
  return {
    id: versioned ? `${base}/${version.version}` : base,
    ...optionalFields(version),
    attributes: attributesJson(version, recovery),
  };
}

const optionalFields = (version: SecretVersion) => ({
  ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
  ...(version.tags !== undefined ? { tags: version.tags } : {}),
});

/**
 * Cuts one page from items sorted by `keyOf`. `maxresults` (1–25) sizes it; `$skiptoken` resumes at a
 * marker. The token is opaque to clients; the stand-in's is base64url JSON `{ NextMarker, TargetLocation }`
 * like Key Vault's, with the next item's key as the marker. Out-of-range sizes and unreadable tokens are
 * refused with 400 BadParameter (UNCONFIRMED texts).
 */
export function cutPage<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  query: { maxresults: string | undefined; skiptoken: string | undefined },
): Parsed<{ page: T[]; nextMarker: string | undefined }> {
  const size = query.maxresults === undefined ? MAX_PAGE_SIZE : Number(query.maxresults);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    return refuse(`'maxresults' must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
  }
  let start = 0;
  if (query.skiptoken !== undefined) {
    const marker = readSkipToken(query.skiptoken);
    if (marker === undefined) return refuse("The '$skiptoken' is not valid.");
    start = items.findIndex((item) => keyOf(item) >= marker);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + size);
  const next = items[start + size];
  return { ok: true, value: { page, nextMarker: next === undefined ? undefined : keyOf(next) } };
}

/** The absolute `nextLink` (Key Vault's carries `api-version`, `$skiptoken` and the request's `maxresults`). */
export function nextLink(
  vaultUrl: string,
  path: string,
  apiVersion: string,
  marker: string,
  maxresults: string | undefined,
): string {
  const token = Buffer.from(JSON.stringify({ NextMarker: marker, TargetLocation: 0 })).toString('base64url');
  const size = maxresults === undefined ? '' : `&maxresults=${encodeURIComponent(maxresults)}`;
  return `${vaultUrl}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${token}${size}`;
}

function readSkipToken(token: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return isObject(parsed) && typeof parsed.NextMarker === 'string' ? parsed.NextMarker : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

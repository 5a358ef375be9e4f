// The secrets operations themselves, once the request is authenticated, routed and authorised: set (a new
// version per PUT), get (current or by version), update attributes, and the two paged listings.
import type { SecretStore } from './secretStore.js';
import {
  cutPage,
  nextLink,
  parseSetBody,
  parseUpdateBody,
  type RecoveryInfo,
  secretBundle,
  secretItem,
} from './secretWire.js';
import { secretDisabled, secretNotFound, type VaultRefusal } from './vaultErrors.js';
import type { ResolvedOperation } from './vaultOperations.js';

/** What an operation needs from the request. */
export interface OperationRequest {
  /** Origin the client addressed (`https://127.0.0.1:<port>`), used in every `id` and `nextLink`. */
  vaultUrl: string;
  /** Request path, for `nextLink`. */
  path: string;
  apiVersion: string;
  maxresults: string | undefined;
  skiptoken: string | undefined;
  /** Parsed JSON body of a PUT or PATCH. */
  body: unknown;
}

export type OperationResult = { status: 200; body: unknown } | VaultRefusal;

const ok = (body: unknown): OperationResult => ({ status: 200, body });

/** Runs one resolved operation against the store. */
export function runOperation(
  store: SecretStore,
  recovery: RecoveryInfo,
  route: ResolvedOperation,
  request: OperationRequest,
): OperationResult {
  const { name, version } = route;
  switch (route.operation) {
    case 'setSecret': {
      const parsed = parseSetBody(request.body);
      if (!parsed.ok) return parsed.refusal;
      const created = store.set(name, parsed.value);
      return ok(secretBundle(request.vaultUrl, created.secret, created.version, recovery, true));
    }
    case 'getSecret': {
      const found = store.findVersion(name, version);
      if (!found) return secretNotFound(version === '' ? name : `${name}/${version}`);
      // Disabled versions are refused; expired and not-yet-valid ones are returned: "A secret's get operation
      // works for not-yet-valid and expired secrets, outside the nbf / exp window" (about-secrets.md).
      if (!found.version.enabled) return secretDisabled();
      return ok(secretBundle(request.vaultUrl, found.secret, found.version, recovery, true));
    }
    case 'updateSecret': {
      const parsed = parseUpdateBody(request.body);
      if (!parsed.ok) return parsed.refusal;
      // Updating a disabled version is allowed (recording "can update a disabled secret").
      const updated = store.update(name, version, parsed.value);
      if (!updated) return secretNotFound(`${name}/${version}`);
      return ok(secretBundle(request.vaultUrl, updated.secret, updated.version, recovery, false));
    }
    case 'getSecretVersions': {
      const secret = store.find(name);
      // An unknown name lists nothing rather than 404 (recording "can list secret versions non existing").
      const versions = secret ? store.versions(name) : [];
      const cut = cutPage(versions, (entry) => entry.version.toUpperCase(), request);
      if (!cut.ok) return cut.refusal;
      return ok({
        value: secret
          ? cut.value.page.map((entry) => secretItem(request.vaultUrl, secret, entry, recovery, true))
          : [],
        nextLink: link(request, cut.value.nextMarker),
      });
    }
    case 'getSecrets': {
      const cut = cutPage(store.secrets(), (secret) => secret.name.toUpperCase(), request);
      if (!cut.ok) return cut.refusal;
      return ok({
        value: cut.value.page.flatMap((secret) => {
          const current = secret.versions.at(-1);
          return current ? [secretItem(request.vaultUrl, secret, current, recovery, false)] : [];
        }),
        nextLink: link(request, cut.value.nextMarker),
      });
    }
  }
}

// The last page carries `"nextLink": null` (recorded listings).
const link = (request: OperationRequest, marker: string | undefined): string | null =>
  marker === undefined
    ? null
    : nextLink(request.vaultUrl, request.path, request.apiVersion, marker, request.maxresults);

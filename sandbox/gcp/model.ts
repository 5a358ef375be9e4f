// One Compute Engine VM as its metadata server sees it: the options, their checks, and service-account look-up.
import type { OidcIssuer } from '../lib/oidcIssuer.js';

/** The `iss` of every Google-signed ID token (protocols.md §B.2); never rewritten by the sandbox. */
export const GOOGLE_ISSUER = 'https://accounts.google.com';

/** Scope a VM's service account gets unless told (the console's "Allow full access to all Cloud APIs"). */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Wall-clock time source, injected so tests control `iat` and `exp`. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** A service account attached to the VM. */
export interface GcpServiceAccount {
  /** e.g. `broker-caller@my-project.iam.gserviceaccount.com`. */
  email: string;
  /** The account's numeric unique ID (21 digits at Google); it becomes `sub` and `azp`. */
  uniqueId: string;
  /** The account that answers the `default` alias; at most one per VM. */
  default?: true;
  /** OAuth scopes listed at `.../scopes`; cloud-platform unless told. */
  scopes?: readonly string[];
}

/** The VM the metadata server belongs to. */
export interface GcpInstance {
  /** Numeric instance ID (a uint64, kept as a decimal string). */
  id: string;
  /** Instance name (RFC 1035 label). */
  name: string;
  /** Zone name, e.g. `us-central1-a`. */
  zone: string;
  /** Creation time in seconds since the Unix epoch (`instance_creation_timestamp`). */
  creationTimestampSeconds: number;
  /** License IDs listed in `license_id` when a token asks for `licenses=TRUE`; none unless told. */
  licenseIds?: readonly string[];
}

export interface GcpMetadataServerOptions {
  /** Project ID, e.g. `my-project`. */
  projectId: string;
  /** Project number (the numeric project ID). */
  projectNumber: number;
  instance: GcpInstance;
  /** Attached service accounts; the one flagged `default` answers `default`. */
  serviceAccounts: readonly GcpServiceAccount[];
  /** Lifetime of identity and access tokens, in seconds; 3600 unless told. */
  tokenLifetimeSeconds?: number;
  /** Google's stand-in issuer (`https://accounts.google.com`), shared by every VM: Google's keys are global. */
  issuer: OidcIssuer;
  /** Time source; the system clock unless told. */
  clock?: Clock;
}

/** A service account after defaults: scopes filled in, the default flag held by the VM. */
export type VmServiceAccount = Required<Omit<GcpServiceAccount, 'default'>>;

/** The checked, defaulted view of the options the routes read. */
export interface GcpVm {
  readonly projectId: string;
  readonly projectNumber: number;
  readonly instance: Required<GcpInstance>;
  readonly serviceAccounts: readonly VmServiceAccount[];
  readonly defaultAccount: VmServiceAccount | undefined;
  readonly tokenLifetimeSeconds: number;
  readonly issuer: OidcIssuer;
  readonly clock: Clock;
  /** The account a path segment names: `default` or an email; undefined when the VM has none such. */
  resolveAccount(segment: string): VmServiceAccount | undefined;
  /** `instance/zone` as the server answers it: `projects/<number>/zones/<zone>`. */
  readonly zonePath: string;
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const DIGITS = /^[0-9]+$/;
const INSTANCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const EMAIL = /^[^@\s/]+@[^@\s/]+$/;

const fail = (option: string, why: string): never => {
  throw new Error(`gcpMetadataServer: option ${option} ${why}`);
};

/** Checks the options (each error names the option) and fills in defaults. */
export function createGcpVm(options: GcpMetadataServerOptions): GcpVm {
  if (!PROJECT_ID.test(options.projectId))
    fail('projectId', 'is not a valid project ID (6-30 of a-z, 0-9, -)');
  if (!Number.isSafeInteger(options.projectNumber) || options.projectNumber <= 0) {
    fail('projectNumber', 'must be a positive integer');
  }
  const { instance } = options;
  if (!DIGITS.test(instance.id)) fail('instance.id', 'must be a decimal string');
  if (!INSTANCE_NAME.test(instance.name)) fail('instance.name', 'is not an RFC 1035 label');
  if (!ZONE.test(instance.zone)) fail('instance.zone', 'is not a zone name such as us-central1-a');
  if (!Number.isSafeInteger(instance.creationTimestampSeconds) || instance.creationTimestampSeconds <= 0) {
    fail('instance.creationTimestampSeconds', 'must be a positive integer (seconds since the epoch)');
  }
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
    fail('tokenLifetimeSeconds', 'must be a positive integer');
  }
  if (options.issuer.issuer !== GOOGLE_ISSUER) {
    fail('issuer', `must be the stand-in for ${GOOGLE_ISSUER} (issuers keep their real iss)`);
  }

  const accounts = options.serviceAccounts.map((account, index): VmServiceAccount => {
    if (!EMAIL.test(account.email)) fail(`serviceAccounts[${index}].email`, 'is not an email address');
    if (!DIGITS.test(account.uniqueId))
      fail(`serviceAccounts[${index}].uniqueId`, 'must be a decimal string');
    return {
      email: account.email,
      uniqueId: account.uniqueId,
      scopes: account.scopes ?? [CLOUD_PLATFORM_SCOPE],
    };
  });
  if (new Set(accounts.map((a) => a.email)).size !== accounts.length) {
    fail('serviceAccounts', 'lists an email twice');
  }
  const defaults = options.serviceAccounts.flatMap((account, index) => (account.default ? [index] : []));
  if (defaults.length > 1) fail('serviceAccounts', 'flags more than one account as default');
  const defaultAccount = defaults[0] === undefined ? undefined : accounts[defaults[0]];

  return {
    projectId: options.projectId,
    projectNumber: options.projectNumber,
    instance: { ...instance, licenseIds: instance.licenseIds ?? [] },
    serviceAccounts: accounts,
    defaultAccount,
    tokenLifetimeSeconds: lifetime,
    issuer: options.issuer,
    clock: options.clock ?? { now: () => Date.now() },
    zonePath: `projects/${options.projectNumber}/zones/${instance.zone}`,
    resolveAccount: (segment) =>
      segment === 'default' ? defaultAccount : accounts.find((account) => account.email === segment),
  };
}

/** Aliases the server lists for an account: `default` for the default one, none for the others. */
export const aliasesOf = (vm: GcpVm, email: string): string[] =>
  vm.defaultAccount?.email === email ? ['default'] : [];

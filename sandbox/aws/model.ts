// The sandbox's AWS world: accounts and IAM principals (users and assumed-role sessions) with their
// own access keys, from a seed. Shared by the STS and Cognito stand-ins (issue 8).

/** One AWS account of the sandbox. */
export interface AwsAccountSeed {
  /** 12 digits. */
  id: string;
  /** Whether `iam:EnableOutboundWebIdentityFederation` was run (protocols.md §C.5); false unless told. */
  outboundWebIdentityFederation?: boolean;
  /** The per-account web identity issuer's id (`https://<id>.tokens.sts.global.api.aws`); random unless told. */
  webIdentityIssuerId?: string;
  /** AWS Organizations membership, surfaced as `org_id` / `ou_path` claims. */
  organization?: { id: string; ouPath: string };
}

/** An IAM user or an assumed-role session, with the credentials it signs with. */
export interface AwsPrincipalSeed {
  kind: 'user' | 'role';
  /** The account id (12 digits). */
  account: string;
  /** The user's or role's name. */
  name: string;
  /** IAM path, `/` unless told (e.g. `/service/`). */
  path?: string;
  /** IAM unique id: `AIDA…` for a user, `AROA…` for a role. */
  uniqueId: string;
  /** The assumed-role session's name (roles only). */
  sessionName?: string;
  /** `AKIA…` for a user's long-term key, `ASIA…` for a role session's temporary key. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Required with an `ASIA…` key: the session token sent as `X-Amz-Security-Token`. */
  sessionToken?: string;
  /** When the session's credentials expire, epoch seconds (roles); a signature after it gets `ExpiredToken`. */
  sessionExpiresAt?: number;
  /** Principal tags (IAM tags on the user or role). */
  tags?: Readonly<Record<string, string>>;
}

export interface AwsSeed {
  partition: 'aws';
  /** The region the stand-ins answer for (SigV4 credential scope). */
  region: string;
  accounts: AwsAccountSeed[];
  principals: AwsPrincipalSeed[];
}

/** The ARN a principal's signed requests resolve to, as GetCallerIdentity answers it (protocols.md §C.4). */
export function callerArn(principal: AwsPrincipalSeed, partition = 'aws'): string {
  if (principal.kind === 'role') {
    return `arn:${partition}:sts::${principal.account}:assumed-role/${principal.name}/${principal.sessionName ?? 'session'}`;
  }
  return `arn:${partition}:iam::${principal.account}:user${principal.path ?? '/'}${principal.name}`;
}

/** The role's own ARN (`arn:aws:iam::<acct>:role/<path><name>`): the web identity token's `sub`. */
export function roleArn(principal: AwsPrincipalSeed, partition = 'aws'): string {
  return `arn:${partition}:iam::${principal.account}:role${principal.path ?? '/'}${principal.name}`;
}

/** GetCallerIdentity's `UserId`: `AIDA…` for a user, `AROA…:<session>` for a role session. */
export function callerUserId(principal: AwsPrincipalSeed): string {
  return principal.kind === 'role'
    ? `${principal.uniqueId}:${principal.sessionName ?? 'session'}`
    : principal.uniqueId;
}

/** Looks principals up by access key id. */
export class AwsDirectory {
  readonly #byKey = new Map<string, AwsPrincipalSeed>();
  readonly #accounts = new Map<string, AwsAccountSeed>();

  constructor(readonly seed: AwsSeed) {
    for (const account of seed.accounts) this.#accounts.set(account.id, account);
    for (const principal of seed.principals) {
      if (!this.#accounts.has(principal.account))
        throw new Error(`aws seed: principal ${principal.name} names unknown account ${principal.account}`);
      if (this.#byKey.has(principal.accessKeyId))
        throw new Error(`aws seed: access key ${principal.accessKeyId} is used twice`);
      this.#byKey.set(principal.accessKeyId, principal);
    }
  }

  byAccessKey(accessKeyId: string): AwsPrincipalSeed | undefined {
    return this.#byKey.get(accessKeyId);
  }

  account(id: string): AwsAccountSeed | undefined {
    return this.#accounts.get(id);
  }
}

// The `aws-web-identity` caller verifier (issue 8; protocols.md §C.5): an AWS workload presents the JWT
// its account's issuer signed through `sts:GetWebIdentityToken`, with the broker's audience. Issuers are
// allow-listed per account in configuration (AWS_WEB_IDENTITY_ISSUERS); each has its own key set.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { AwsWebIdentityPrincipal, CallerVerifier } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

/** One account's issuer and where its keys are read. */
export interface AwsWebIdentityIssuer {
  account: string;
  issuer: string;
  keys: KeyGetter;
}

export interface AwsWebIdentityVerifierOptions {
  issuers: readonly AwsWebIdentityIssuer[];
  /** The broker's audience. */
  audience: string;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

/** Where the token carries AWS's own claims (protocols.md §C.5). */
const AWS_CLAIMS = 'https://sts.amazonaws.com/';
const PRINCIPAL_ARN =
  /^arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):(role|user)\/(?:[\x21-\x7e]{0,510}\/)?([\w+=,.@-]{1,64})$/;

const stringRecord = (value: unknown): Record<string, string> | undefined =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((item) => typeof item === 'string')
    ? (value as Record<string, string>)
    : undefined;

/** Builds the verifier for the configured accounts' issuers. */
export function createAwsWebIdentityVerifier(options: AwsWebIdentityVerifierOptions): CallerVerifier {
  const byIssuer = new Map(options.issuers.map((entry) => [entry.issuer, entry]));
  return createJwtCallerVerifier<AwsWebIdentityPrincipal>({
    issuers: [...byIssuer.keys()],
    keysFor: (unverified) => byIssuer.get(unverified.iss as string)?.keys,
    audience: options.audience,
    // RS256 and ES384 are the two GetWebIdentityToken signs with; the caller chooses.
    algorithms: ['RS256', 'ES384'],
    typ: ['JWT'],
    issuerName: 'an AWS account this broker trusts',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      const entry = byIssuer.get(payload.iss as string) as AwsWebIdentityIssuer;
      const arn = typeof payload.sub === 'string' ? PRINCIPAL_ARN.exec(payload.sub) : null;
      if (!arn) throw refuseCaller("The subject token's 'sub' is not an IAM role or user ARN.");
      const aws = objectOf(payload[AWS_CLAIMS]);
      // One issuer per account: the token must name that account, in its claims and in its subject.
      if (aws?.aws_account !== entry.account || arn[2] !== entry.account) {
        throw refuseCaller("The subject token's account is not the account of its issuer.");
      }
      const orgId = typeof aws.org_id === 'string' ? aws.org_id : undefined;
      const ouPath = typeof aws.ou_path === 'string' ? aws.ou_path : undefined;
      const tags = aws.principal_tags === undefined ? {} : stringRecord(aws.principal_tags);
      if (!tags) throw refuseCaller("The subject token's principal tags are not a map of strings.");
      return {
        kind: 'aws-web-identity',
        subject: payload.sub as string,
        issuer: entry.issuer,
        account: entry.account,
        type: arn[3] as 'role' | 'user',
        name: arn[4] as string,
        orgId,
        ouPath,
        principalTags: tags,
      };
    },
  });
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

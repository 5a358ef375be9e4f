// The `aws-iam` caller verifier (issue 8; protocols.md §C.4): an AWS workload proves its IAM identity
// with a SigV4-signed `sts:GetCallerIdentity` request bound to this broker; the broker checks it,
// forwards it to the allow-listed STS endpoint it names (no redirects followed), and types STS's answer.
// The pattern of Vault's AWS auth and Google's workload identity federation.
import { XMLParser } from 'fast-xml-parser';
import type { Clock } from '../clock.js';
import { BrokerError } from '../errors.js';
import { readCapped } from '../peerAnswer.js';
import { checkSignedRequest } from './awsSignedRequest.js';
import type { AwsIamPrincipal, SignedRequestVerifier, VerifiedCaller } from './callerVerifier.js';

export interface AwsIamVerifierOptions {
  /** The broker's audience: the value the signed `x-broker-audience` header must carry. */
  audience: string;
  /** STS origins a request may be forwarded to. */
  stsEndpoints: readonly string[];
  /** Timeout of the forwarded request, in milliseconds. */
  timeoutMs: number;
  maxTokenBytes: number;
  clockSkewSeconds: number;
  clock: Clock;
  /** The fetch to forward with; the global one unless told (tests). */
  fetch?: typeof fetch;
  /** Signed requests checked with STS at once; more are answered 503 at once (64 unless told). */
  maxInFlight?: number;
}

/** STS's signing window (protocols.md §C.4): a signature older or newer than this is refused by STS too. */
const STS_WINDOW_MS = 5 * 60_000;
/** Largest STS answer read; a GetCallerIdentity answer is well under 1 KB. */
const MAX_ANSWER_BYTES = 16_384;
/** How long a caller's proof counts (VerifiedCaller.expiresAt): STS's window from the signing time. */
const PROOF_LIFETIME_MS = STS_WINDOW_MS;

/** STS error codes that mean the signed request itself is refused (named in the description: AWS's vocabulary, not the caller's text). */
const REFUSAL_CODES = new Set([
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'AccessDenied',
]);

const ASSUMED_ROLE =
  /^arn:(aws|aws-us-gov|aws-cn):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;
const USER = /^arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):user\/(?:[\x21-\x7e]{0,510}\/)?([\w+=,.@-]{1,64})$/;
const UNIQUE_ID = /^([A-Z0-9]{16,128})(?::[\w+=,.@-]{2,64})?$/;

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, processEntities: false });

const refuse = (description: string, cause?: unknown): BrokerError =>
  new BrokerError('invalid_grant', 401, description, { cause, detail: { reason: 'caller_token_invalid' } });

const unavailable = (why: string, retryAfterSeconds = 5, cause?: unknown): BrokerError =>
  new BrokerError('temporarily_unavailable', 503, `AWS STS ${why}; retry later.`, {
    cause,
    retryAfterSeconds,
    detail: { reason: 'caller_verifier_unavailable' },
  });

/** Types STS's GetCallerIdentity answer; refuses principals other than role sessions and users. */
function principalOf(answer: string): AwsIamPrincipal {
  let parsed: unknown;
  try {
    parsed = xml.parse(answer);
  } catch (error) {
    throw unavailable('answered with a body that is not XML', 5, error);
  }
  const result = (
    parsed as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, unknown> } }
  ).GetCallerIdentityResponse?.GetCallerIdentityResult;
  const { Arn: arn, UserId: userId, Account: account } = result ?? {};
  if (typeof arn !== 'string' || typeof userId !== 'string' || typeof account !== 'string') {
    throw unavailable('answered without an Arn, UserId and Account');
  }
  const uniqueId = UNIQUE_ID.exec(userId)?.[1];
  const role = ASSUMED_ROLE.exec(arn);
  const user = USER.exec(arn);
  const match = role ?? user;
  if (!match || uniqueId === undefined || match[2] !== account) {
    throw refuse(
      'AWS STS names a principal that is not an IAM role session or an IAM user; only those are accepted.',
    );
  }
  return {
    kind: 'aws-iam',
    subject: arn,
    partition: match[1] as string,
    account,
    type: role ? 'role' : 'user',
    name: match[3] as string,
    sessionName: role ? role[4] : undefined,
    userId: uniqueId,
  };
}

/** STS's error answer (`ErrorResponse/Error/Code`), mapped to the contract. */
function refusalOf(status: number, answer: string | undefined, retryAfter: string | null): BrokerError {
  let code: unknown;
  try {
    code = (xml.parse(answer ?? '') as { ErrorResponse?: { Error?: { Code?: unknown } } }).ErrorResponse
      ?.Error?.Code;
  } catch {
    code = undefined;
  }
  if (code === 'Throttling' || status === 429 || status >= 500) {
    const seconds = Number(retryAfter);
    return unavailable(
      code === 'Throttling' || status === 429 ? 'is throttling identity checks' : 'is unavailable',
      Number.isInteger(seconds) && seconds > 0 && seconds <= 3600 ? seconds : 5,
    );
  }
  if (typeof code === 'string' && REFUSAL_CODES.has(code)) {
    return refuse(`AWS STS refused the signed request (${code}).`);
  }
  return refuse(`AWS STS refused the signed request (HTTP ${status}).`);
}

/** Builds the `aws-iam` verifier. */
export function createAwsIamVerifier(options: AwsIamVerifierOptions): SignedRequestVerifier {
  const send = options.fetch ?? fetch;
  // Each signed request is one STS call that can last the timeout, and its signature is STS's to check:
  // anyone can send well-formed ones. Past this many at once the broker refuses at once (retryable)
  // rather than hold a socket each and spend the broker's STS quota, which its real callers share.
  const maxInFlight = options.maxInFlight ?? 64;
  let inFlight = 0;
  return {
    async verify(token: string): Promise<VerifiedCaller> {
      const request = checkSignedRequest(token, {
        audience: options.audience,
        stsEndpoints: options.stsEndpoints,
        maxBytes: options.maxTokenBytes,
        now: options.clock.now(),
        windowMs: STS_WINDOW_MS + options.clockSkewSeconds * 1000,
      });
      if (inFlight >= maxInFlight) throw unavailable(`is checking ${maxInFlight} signed requests already`, 1);
      inFlight++;
      try {
        return await checkWithSts(request);
      } finally {
        inFlight--;
      }
    },
  };

  async function checkWithSts(request: ReturnType<typeof checkSignedRequest>): Promise<VerifiedCaller> {
    // Host comes from the URL (checked equal); everything else is forwarded exactly as signed.
    const headers = [...request.headers].filter(([name]) => name !== 'host');
    let response: Response;
    try {
      response = await send(request.url, {
        method: 'POST',
        headers,
        body: '',
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw unavailable('could not be reached to check the signed request', 5, error);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw unavailable('answered with a redirect, which the broker does not follow');
    }
    // At most MAX_ANSWER_BYTES of the answer; a longer one is not STS's.
    let answer: string | undefined;
    try {
      answer = await readCapped(response, MAX_ANSWER_BYTES);
    } catch (error) {
      // A refusal's status speaks for itself; only an answer meant to name the caller is reported as cut.
      if (response.status === 200) throw unavailable('broke off its answer to the signed request', 5, error);
      answer = undefined;
    }
    if (response.status !== 200)
      throw refusalOf(response.status, answer, response.headers.get('retry-after'));
    if (answer === undefined) throw unavailable('answered with a body too large to be an identity');
    return {
      principal: principalOf(answer),
      expiresAt: Math.floor((request.signedAtMs + PROOF_LIFETIME_MS) / 1000),
    };
  }
}

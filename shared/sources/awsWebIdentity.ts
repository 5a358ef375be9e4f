// Token source `webIdentity` for a broker on AWS (issue 8; protocols.md §C.5): an AWS-signed JWT for
// audience api://AzureADTokenExchange from `sts:GetWebIdentityToken`, with the function's own IAM
// credentials (the SDK's default chain). RS256 always: Entra refuses ES* assertions.
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import type { Clock } from '../clock.js';
import { errorKind } from '../errors.js';
import { capAnswers, describeAwsFailure } from './awsFailure.js';
import { assertionFromJwt, createSourceCache, SourceError, type TokenSource } from './tokenSource.js';

export interface AwsWebIdentitySourceOptions {
  /** `api://AzureADTokenExchange` for Entra. */
  audience: string;
  /** A regional STS endpoint answers (the global one does not serve GetWebIdentityToken). */
  region: string;
  /** The token's lifetime, 600–3600 s; it may not outlive the broker's own AWS session. */
  durationSeconds: number;
  timeoutMs: number;
  clock: Clock;
}

export const AWS_WEB_IDENTITY_SOURCE = 'awsWebIdentity';

/** What to do about each refusal STS documents for GetWebIdentityToken, for the log. */
const FIXES: Readonly<Record<string, string>> = {
  OutboundWebIdentityFederationDisabledException:
    "outbound web identity federation is disabled in the broker's AWS account; enable it once with iam:EnableOutboundWebIdentityFederation",
  SessionDurationEscalationException:
    "the token would outlive the broker's AWS session; lower AWS_WEB_IDENTITY_DURATION_SECONDS",
  AccessDeniedException: "the broker's IAM role may not call sts:GetWebIdentityToken for this audience",
};

/** Creates the source over `@aws-sdk/client-sts`; AWS_ENDPOINT_URL_STS redirects it (the SDK reads it). */
export function createAwsWebIdentitySource(options: AwsWebIdentitySourceOptions): TokenSource {
  const sts = new STSClient({ region: options.region, maxAttempts: 1 });
  capAnswers(sts);
  const cache = createSourceCache(options.clock);
  const fetchAssertion = async () => {
    let token: string | undefined;
    try {
      ({ WebIdentityToken: token } = await sts.send(
        new GetWebIdentityTokenCommand({
          Audience: [options.audience],
          SigningAlgorithm: 'RS256',
          DurationSeconds: options.durationSeconds,
        }),
        { abortSignal: AbortSignal.timeout(options.timeoutMs) },
      ));
    } catch (error) {
      throw new SourceError(AWS_WEB_IDENTITY_SOURCE, describeAwsFailure('STS', error, FIXES), {
        // The SDK's error can hold the service's answer whole (the broker's token in it): only its kind is kept.
        cause: errorKind(error),
      });
    }
    if (!token) throw new SourceError(AWS_WEB_IDENTITY_SOURCE, 'STS answered without a token');
    return assertionFromJwt(AWS_WEB_IDENTITY_SOURCE, token);
  };
  return {
    name: AWS_WEB_IDENTITY_SOURCE,
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

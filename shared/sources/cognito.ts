// Token source `cognito` for a broker on AWS (issue 8; protocols.md §C.1–C.3): a Cognito identity
// pool's OpenID token. The developer-authenticated flow (GetOpenIdTokenForDeveloperIdentity, signed
// with the function's own IAM credentials from the SDK's default chain) proves the broker's AWS
// identity; the basic flow (GetOpenIdToken for a configured identity) proves only that the caller
// knew the identity id, so it is for pools that admit nothing else (README, Token sources).
import {
  CognitoIdentityClient,
  GetOpenIdTokenCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import type { Clock } from '../clock.js';
import { errorKind } from '../errors.js';
import { capAnswers, describeAwsFailure } from './awsFailure.js';
import { assertionFromJwt, createSourceCache, SourceError, type TokenSource } from './tokenSource.js';

export type CognitoFlow =
  | {
      kind: 'developer';
      identityPoolId: string;
      providerName: string;
      userId: string;
      tokenDurationSeconds: number;
    }
  | { kind: 'basic'; identityId: string };

export interface CognitoSourceOptions {
  region: string;
  flow: CognitoFlow;
  timeoutMs: number;
  clock: Clock;
}

export const COGNITO_SOURCE = 'cognito';

const FIXES: Readonly<Record<string, string>> = {
  NotAuthorizedException: "the identity pool does not accept the broker's login or identity",
  ResourceNotFoundException: 'the identity pool or identity does not exist',
};

/** Creates the source over `@aws-sdk/client-cognito-identity`; AWS_ENDPOINT_URL_COGNITO_IDENTITY redirects it. */
export function createCognitoSource(options: CognitoSourceOptions): TokenSource {
  const cognito = new CognitoIdentityClient({ region: options.region, maxAttempts: 1 });
  capAnswers(cognito);
  const cache = createSourceCache(options.clock);
  const { flow } = options;
  const command =
    flow.kind === 'developer'
      ? new GetOpenIdTokenForDeveloperIdentityCommand({
          IdentityPoolId: flow.identityPoolId,
          Logins: { [flow.providerName]: flow.userId },
          TokenDuration: flow.tokenDurationSeconds,
        })
      : new GetOpenIdTokenCommand({ IdentityId: flow.identityId });
  const fetchAssertion = async () => {
    let token: string | undefined;
    try {
      ({ Token: token } = await cognito.send(command as GetOpenIdTokenCommand, {
        abortSignal: AbortSignal.timeout(options.timeoutMs),
      }));
    } catch (error) {
      throw new SourceError(COGNITO_SOURCE, describeAwsFailure('Cognito', error, FIXES), {
        // The SDK's error can hold the service's answer whole (the broker's token in it): only its kind is kept.
        cause: errorKind(error),
      });
    }
    if (!token) throw new SourceError(COGNITO_SOURCE, 'Cognito answered without a token');
    return assertionFromJwt(COGNITO_SOURCE, token);
  };
  return {
    name: COGNITO_SOURCE,
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

// The AWS half of the sandbox (issue 8): the STS and Cognito stand-ins seeded with the AWS demo world,
// the federated credentials Entra needs to trust the broker's AWS identities, the broker's AWS
// environment, and the `aws` section of endpoints.json.

import { startCognitoStandIn } from './aws/cognito.js';
import { AwsDirectory, callerArn } from './aws/model.js';
import { startStsStandIn } from './aws/sts.js';
import { AWS_DEMO, type AwsCredentials, awsDemoSeed, awsRoleArn } from './awsDemo.js';
import type { DemoCredential } from './demo.js';
import type { PemPair } from './lib/tls.js';

/** How the broker gets its own assertion when the sandbox runs it "on AWS". */
export type AwsTokenSource = 'cognito' | 'webIdentity';

/** What endpoints.json says about AWS: everything an AWS workload needs. */
export interface AwsEndpoints {
  region: string;
  stsEndpoint: string;
  cognitoEndpoint: string;
  webIdentityIssuer: string;
  /** The broker's AWS token source, or null while the broker runs on GCP. */
  brokerTokenSource: AwsTokenSource | null;
  /** A role the demo policy admits. */
  callerRole: { arn: string } & AwsCredentials;
  /** A role in the same account that no rule names. */
  strangerRole: { arn: string } & AwsCredentials;
  /** The identity pool, and the demo caller's developer identity in it, which the policy admits. */
  cognitoPool: { id: string; developerProvider: string; callerUserId: string; callerIdentityId: string };
}

export interface RunningAwsSandbox {
  /** Federated credentials trusting the broker's Cognito identity and its role's web identity. */
  credentials: DemoCredential[];
  /** Issuer → local base URL, for the Entra stand-in. */
  discoveryOverrides: Record<string, string>;
  /** The broker's environment: the STS allow-list always; its AWS identity when it runs on AWS. */
  brokerEnv(source: AwsTokenSource | null): Record<string, string>;
  endpoints(source: AwsTokenSource | null): AwsEndpoints;
  /** The demo callers the policy admits: the role (as aws-iam and aws-web-identity) and the Cognito identity. */
  callers: { account: string; role: string; identityPool: string; identity: string };
}

export async function startAwsSandbox(options: {
  /** Each started component's closer is pushed here; the caller closes them, in reverse, on failure. */
  closers: Array<() => Promise<void>>;
  tls: PemPair;
  ports: { sts: number; cognito: number };
}): Promise<RunningAwsSandbox> {
  const demo = awsDemoSeed();
  const directory = new AwsDirectory(demo.seed);
  const { closers } = options;
  const sts = await startStsStandIn({
    tls: options.tls,
    port: options.ports.sts,
    directory,
    region: AWS_DEMO.region,
  });
  closers.push(() => sts.close());
  const { cognito: pool } = AWS_DEMO;
  const cognito = await startCognitoStandIn({
    tls: options.tls,
    port: options.ports.cognito,
    region: AWS_DEMO.region,
    directory,
    pools: [
      {
        id: pool.poolId,
        account: AWS_DEMO.account,
        developerProviderName: pool.developerProvider,
        identities: [
          { id: pool.brokerIdentityId, developerUserId: pool.brokerUserId },
          { id: pool.callerIdentityId, developerUserId: pool.callerUserId },
        ],
      },
    ],
    // The observed JWS/RS512 header is refused by the Entra stand-in (AADSTS5002727; sandbox/aws/README.md),
    // so the sandbox shows the flow with the header Entra documents it accepts.
    tokenHeader: { typ: 'JWT', alg: 'RS256' },
  });
  closers.push(() => cognito.close());
  const webIdentity = sts.webIdentityIssuers.get(AWS_DEMO.account);
  if (!webIdentity) throw new Error('the STS stand-in serves no web identity issuer for the demo account');
  const role = (who: 'caller' | 'stranger') => ({
    arn: callerArn(demo.seed.principals.find((p) => p.name === AWS_DEMO[who].role) as never),
    ...demo[who],
  });
  return {
    credentials: [
      {
        name: 'aws-token-broker-cognito',
        issuer: cognito.issuer,
        subject: pool.brokerIdentityId,
        audiences: [pool.poolId],
        description: "The broker's Cognito identity (developer-authenticated, sandbox).",
      },
      {
        name: 'aws-token-broker-web-identity',
        issuer: webIdentity.issuer,
        subject: awsRoleArn(AWS_DEMO.broker.role),
        audiences: ['api://AzureADTokenExchange'],
        description: "The broker's IAM role through sts:GetWebIdentityToken (sandbox).",
      },
    ],
    discoveryOverrides: { [cognito.issuer]: cognito.url, [webIdentity.issuer]: webIdentity.baseUrl },
    brokerEnv: (source) => ({
      AWS_STS_ENDPOINTS: new URL(sts.url).origin,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_WEB_IDENTITY_ISSUERS: JSON.stringify([
        { account: AWS_DEMO.account, issuer: webIdentity.issuer, jwksUrl: webIdentity.jwksUrl },
      ]),
      COGNITO_CALLER_POOL_IDS: pool.poolId,
      COGNITO_JWKS_URL: cognito.jwksUrl,
      ...(source
        ? {
            AWS_REGION: AWS_DEMO.region,
            AWS_TOKEN_SOURCE: source,
            AWS_ACCESS_KEY_ID: demo.broker.accessKeyId,
            AWS_SECRET_ACCESS_KEY: demo.broker.secretAccessKey,
            AWS_SESSION_TOKEN: demo.broker.sessionToken,
            AWS_ENDPOINT_URL_STS: sts.url,
            AWS_ENDPOINT_URL_COGNITO_IDENTITY: cognito.url,
            COGNITO_IDENTITY_POOL_ID: pool.poolId,
            COGNITO_DEVELOPER_PROVIDER: pool.developerProvider,
            COGNITO_DEVELOPER_USER_ID: pool.brokerUserId,
          }
        : {}),
    }),
    endpoints: (source) => ({
      region: AWS_DEMO.region,
      stsEndpoint: sts.url,
      cognitoEndpoint: cognito.url,
      webIdentityIssuer: webIdentity.issuer,
      brokerTokenSource: source,
      callerRole: role('caller'),
      strangerRole: role('stranger'),
      cognitoPool: {
        id: pool.poolId,
        developerProvider: pool.developerProvider,
        callerUserId: pool.callerUserId,
        callerIdentityId: pool.callerIdentityId,
      },
    }),
    callers: {
      account: AWS_DEMO.account,
      role: AWS_DEMO.caller.role,
      identityPool: pool.poolId,
      identity: pool.callerIdentityId,
    },
  };
}

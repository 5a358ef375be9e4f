// The sandbox's AWS world (issue 8): one account with outbound web identity federation enabled, the
// broker's role, a demo caller's role the policy admits and a stranger's it does not, and a Cognito
// identity pool whose developer provider knows the broker. Secrets are random at every start.
import { randomBytes } from 'node:crypto';
import type { AwsSeed } from './aws/model.js';

export const AWS_DEMO = {
  region: 'eu-west-1',
  account: '111122223333',
  /** The per-account web identity issuer is `https://<this>.tokens.sts.global.api.aws`. */
  webIdentityIssuerId: '5e1f0c2a-7b3d-4c8e-9a10-0a1b2c3d4e5f',
  broker: { role: 'token-broker', uniqueId: 'AROASANDBOXBROKER0001', session: 'token-broker-function' },
  caller: { role: 'demo-caller', uniqueId: 'AROASANDBOXCALLER0001', session: 'demo-workload' },
  stranger: { role: 'other-app', uniqueId: 'AROASANDBOXOTHER00001', session: 'other-workload' },
  cognito: {
    poolId: 'eu-west-1:0d3c2b1a-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    developerProvider: 'broker.sandbox',
    brokerUserId: 'token-broker',
    /** Pinned so the Entra stand-in's federated credential can name it before the broker first asks. */
    brokerIdentityId: 'eu-west-1:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    /** The demo caller's developer user and identity, pinned so the policy can name it. */
    callerUserId: 'demo-caller',
    callerIdentityId: 'eu-west-1:3c2b1a0f-9e8d-4c7b-8a6f-5e4d3c2b1a0f',
  },
} as const;

/** An AWS principal's credentials as a workload's environment or an SDK takes them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

const key = (prefix: string) => `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`;
const session = (): AwsCredentials => ({
  accessKeyId: key('ASIA'),
  secretAccessKey: randomBytes(30).toString('base64'),
  sessionToken: randomBytes(48).toString('base64'),
});

/** The seed of the STS and Cognito stand-ins, with fresh credentials for every role. */
export function awsDemoSeed(): {
  seed: AwsSeed;
  broker: AwsCredentials;
  caller: AwsCredentials;
  stranger: AwsCredentials;
} {
  const credentials = { broker: session(), caller: session(), stranger: session() };
  const role = (who: 'broker' | 'caller' | 'stranger') => ({
    kind: 'role' as const,
    account: AWS_DEMO.account,
    name: AWS_DEMO[who].role,
    uniqueId: AWS_DEMO[who].uniqueId,
    sessionName: AWS_DEMO[who].session,
    ...credentials[who],
    // A session as long as the sandbox could run; real sessions last 1-12 h.
    sessionExpiresAt: Math.floor(Date.now() / 1000) + 7 * 86_400,
  });
  return {
    seed: {
      partition: 'aws',
      region: AWS_DEMO.region,
      accounts: [
        {
          id: AWS_DEMO.account,
          outboundWebIdentityFederation: true,
          webIdentityIssuerId: AWS_DEMO.webIdentityIssuerId,
        },
      ],
      principals: [role('broker'), role('caller'), role('stranger')],
    },
    ...credentials,
  };
}

/** `arn:aws:iam::<acct>:role/<name>`: the `sub` of the broker's web identity token. */
export const awsRoleArn = (name: string): string => `arn:aws:iam::${AWS_DEMO.account}:role/${name}`;

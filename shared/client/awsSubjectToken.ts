// For AWS workloads (issue 8): builds the `aws4_request` subject token that proves the workload's IAM
// identity to the broker, with the AWS SDK's own signer and credential chain. Client code: it pulls in
// no server code, so a workload can import it alone.

import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { BROKER_AUDIENCE_HEADER, GET_CALLER_IDENTITY_QUERY } from './awsRequestFormat.js';

export { AWS_SUBJECT_TOKEN_TYPE } from './awsRequestFormat.js';

export interface AwsSubjectTokenOptions {
  /** The broker's audience (its `BROKER_AUDIENCE`), e.g. `https://broker.example.com`. */
  brokerAudience: string;
  /** The region whose STS endpoint signs and answers, e.g. `eu-west-1`. */
  region: string;
  /** STS's origin; `https://sts.<region>.amazonaws.com` unless told (it must be on the broker's allow-list). */
  stsEndpoint?: string;
  /** Credentials or a provider; the SDK's default chain (environment, profile, web identity, ECS, EC2) unless told. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The signing time; now unless told. */
  signingDate?: Date;
}

/**
 * Signs `POST <sts>/?Action=GetCallerIdentity&Version=2011-06-15` with SigV4, binding it to the broker
 * with a signed `x-broker-audience` header, and serialises it as Google's STS takes an AWS token
 * (URL-encoded JSON of `url`, `method`, `headers`). Send it as `subject_token` with
 * `subject_token_type=urn:ietf:params:aws:token-type:aws4_request`. The token is a credential for
 * five minutes (STS's signing window): never log it.
 */
export async function createAwsSubjectToken(options: AwsSubjectTokenOptions): Promise<string> {
  const endpoint = new URL(options.stsEndpoint ?? `https://sts.${options.region}.amazonaws.com`);
  const url = new URL(`/?${GET_CALLER_IDENTITY_QUERY}`, endpoint.origin);
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: 'sts',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: '/',
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, [BROKER_AUDIENCE_HEADER]: options.brokerAudience },
      body: '',
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  const headers = Object.entries(signed.headers).map(([key, value]) => ({ key, value: String(value) }));
  return encodeURIComponent(JSON.stringify({ url: url.toString(), method: 'POST', headers }));
}

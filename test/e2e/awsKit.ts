// What the AWS end-to-end tests share (issue 8): the sandbox launched with the broker "on AWS", an AWS
// workload's exchange built with the client helper and the SDK's signer, and the stand-ins' admin routes.
import { readFile } from 'node:fs/promises';
import { interrupt, type Launched, launch, whenUp } from '../../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../../sandbox/lib/tls.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';
import { createAwsSubjectToken } from '../../shared/client/awsSubjectToken.js';
import { leaksIn } from './launchedSandbox.js';

export const AWS_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';

export interface AwsE2e {
  launched: Launched;
  endpoints: SandboxEndpoints;
  /** Every token, signed request and secret seen, for the log canary. */
  secrets: Set<string>;
}

/** Launches the sandbox with the broker on AWS, its assertion from `tokenSource`. */
export async function launchOnAws(tokenSource: 'cognito' | 'webIdentity'): Promise<AwsE2e> {
  const launched = await launch({}, { SANDBOX_BROKER_ON: 'aws', SANDBOX_AWS_TOKEN_SOURCE: tokenSource });
  const endpoints = await whenUp(launched).catch(async (error: unknown) => {
    await interrupt(launched);
    throw error;
  });
  trustCertificateAuthority(await readFile(endpoints.caCertificate, 'utf8'));
  const { callerRole, strangerRole } = endpoints.aws;
  const secrets = new Set([
    callerRole.secretAccessKey,
    callerRole.sessionToken,
    strangerRole.secretAccessKey,
    strangerRole.sessionToken,
  ]);
  return { launched, endpoints, secrets };
}

/** The demo caller's signed GetCallerIdentity, as its workload builds it; `overrides` forge bad ones. */
export async function awsSubjectToken(
  e2e: AwsE2e,
  overrides: Partial<Parameters<typeof createAwsSubjectToken>[0]> = {},
): Promise<string> {
  const { aws, broker } = e2e.endpoints;
  const token = await createAwsSubjectToken({
    brokerAudience: broker.audience,
    region: aws.region,
    stsEndpoint: aws.stsEndpoint,
    credentials: aws.callerRole,
    ...overrides,
  });
  e2e.secrets.add(token);
  return token;
}

export interface ExchangeAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** POST /api/token with the contract's grant; an AWS token type unless `params` says otherwise. */
export async function exchange(e2e: AwsE2e, params: Record<string, string>): Promise<ExchangeAnswer> {
  const response = await fetch(e2e.endpoints.broker.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: AWS_TOKEN_TYPE,
      audience: e2e.endpoints.demo.target,
      scope: e2e.endpoints.demo.scope,
      ...params,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (typeof body.access_token === 'string') e2e.secrets.add(body.access_token);
  return { status: response.status, body, headers: response.headers };
}

/** Calls a stand-in's sandbox-only admin route and returns its JSON answer, if any. */
export async function admin(base: string, method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown) {
  const response = await fetch(`${base}/admin${route}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`admin ${route}: ${response.status} ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as Record<string, unknown> | undefined;
}

/** The log canary: no token, signed request, secret or anything JWT-shaped in the sandbox's output. */
export function leakedSecrets(e2e: AwsE2e): string[] {
  const output = e2e.launched.output();
  const signature = /Signature=[0-9a-f]{64}/.exec(output)?.[0];
  return [...leaksIn(output, e2e.secrets), ...(signature ? [signature] : [])];
}

export const stop = (e2e: AwsE2e | undefined) => (e2e ? interrupt(e2e.launched) : Promise.resolve(null));

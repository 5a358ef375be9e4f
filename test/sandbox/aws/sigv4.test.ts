// SigV4 verification in the AWS stand-ins: the real STS client signs, the verifier recomputes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import { type ReceivedRequest, type SigV4Options, verifySigV4 } from '../../../sandbox/aws/sigv4.js';

const ROLE: AwsPrincipalSeed = {
  kind: 'role',
  account: '111122223333',
  name: 'caller',
  uniqueId: 'AROAEXAMPLECALLER0001',
  sessionName: 'demo',
  accessKeyId: 'ASIAEXAMPLECALLER001',
  secretAccessKey: 'caller-secret-key-0000000000000000000000',
  sessionToken: 'caller-session-token',
};
const directory = new AwsDirectory({
  partition: 'aws',
  region: 'eu-west-1',
  accounts: [{ id: '111122223333' }],
  principals: [ROLE],
});

let server: http.Server;
let endpoint: string;
let received: ReceivedRequest[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      res.setHeader('content-type', 'text/xml');
      res.end(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>a</Arn><UserId>u</UserId><Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function signedBy(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}) {
  received = [];
  await new STSClient({ endpoint, region: 'eu-west-1', credentials }).send(new GetCallerIdentityCommand({}));
  return received[0] as ReceivedRequest;
}

const options = (overrides: Partial<SigV4Options> = {}): SigV4Options => ({
  service: 'sts',
  region: 'eu-west-1',
  directory,
  now: Date.now(),
  ...overrides,
});

describe('verifySigV4', () => {
  it("accepts the STS client's own signature and names the principal", async () => {
    const request = await signedBy(ROLE);

    const result = await verifySigV4(request, options());

    expect(result).toMatchObject({ ok: true, principal: { name: 'caller' } });
    expect(result.ok && result.signedHeaders).toContain('host');
  });

  it.each([
    ['a wrong secret', { ...ROLE, secretAccessKey: 'wrong' }, 'badSignature'],
    ['an unknown key', { ...ROLE, accessKeyId: 'ASIAUNKNOWN000000000' }, 'unknownKey'],
    [
      'no session token for a session key',
      { accessKeyId: ROLE.accessKeyId, secretAccessKey: ROLE.secretAccessKey },
      'unknownKey',
    ],
  ])('refuses %s', async (_name, credentials, failure) => {
    const result = await verifySigV4(await signedBy(credentials), options());

    expect(result).toMatchObject({ ok: false, failure });
  });

  it('refuses a body changed after signing, and a signature outside the 5-minute window', async () => {
    const request = await signedBy(ROLE);

    const tampered = await verifySigV4(
      { ...request, body: Buffer.from('Action=GetCallerIdentity&Version=2011-06-16') },
      options(),
    );
    const late = await verifySigV4(request, options({ now: Date.now() + 6 * 60_000 }));
    const early = await verifySigV4(request, options({ now: Date.now() - 6 * 60_000 }));

    expect(tampered).toMatchObject({ ok: false, failure: 'badSignature' });
    expect(late).toMatchObject({
      ok: false,
      failure: 'expiredSignature',
      message: expect.stringMatching(/^Signature expired: \d{8}T\d{6}Z is now earlier than/),
    });
    expect(early).toMatchObject({
      ok: false,
      failure: 'expiredSignature',
      message: expect.stringMatching(/^Signature not yet current/),
    });
  });

  it('refuses the wrong service scope and a missing Authorization header', async () => {
    const request = await signedBy(ROLE);

    expect(await verifySigV4(request, options({ service: 'cognito-identity' }))).toMatchObject({
      ok: false,
      failure: 'wrongScope',
    });
    expect(
      await verifySigV4({ ...request, headers: { ...request.headers, authorization: undefined } }, options()),
    ).toMatchObject({
      ok: false,
      failure: 'missing',
    });
  });

  it('refuses an expired session', async () => {
    const expiring = new AwsDirectory({
      ...directory.seed,
      principals: [{ ...ROLE, sessionExpiresAt: Math.floor(Date.now() / 1000) - 1 }],
    });

    expect(await verifySigV4(await signedBy(ROLE), options({ directory: expiring }))).toMatchObject({
      ok: false,
      failure: 'expiredToken',
    });
  });
});

// google-auth-library, unchanged, against two stand-in VMs on loopback: ID tokens verify with the expected claims.
import { Compute, GoogleAuth, gcpMetadata } from 'google-auth-library';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GoogleIssuer, startGoogleIssuer } from '../../../sandbox/gcp/googleIssuer.js';
import { createGcpMetadataServer } from '../../../sandbox/gcp/metadataServer.js';
import { type RunningServer, serve } from '../../../sandbox/lib/serve.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';
import { AUDIENCE, recording, VM_A, VM_A_COMPUTE_ENGINE, VM_B, vmAOptions, vmBOptions } from './fixtures.js';

const ENV_NAMES = [
  'GCE_METADATA_HOST',
  'GCE_METADATA_IP',
  'METADATA_SERVER_DETECTION',
  'GOOGLE_CLOUD_PROJECT',
];

describe('google-auth-library against the GCP metadata-server stand-in', () => {
  let google: GoogleIssuer;
  let vmA: RunningServer;
  let vmB: RunningServer;
  let seenByA: string[];
  const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));
  const useVm = (vm: RunningServer): void => {
    process.env.GCE_METADATA_HOST = new URL(vm.url).host;
  };
  const verify = async (token: string, audience = AUDIENCE): Promise<JWTPayload> =>
    (
      await jwtVerify(token, createRemoteJWKSet(new URL(google.jwksUrl)), {
        issuer: 'https://accounts.google.com',
        audience,
      })
    ).payload;

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    google = await startGoogleIssuer({ tls: await ca.issue(['localhost', '127.0.0.1']) });
    const a = recording(createGcpMetadataServer(vmAOptions(google)));
    seenByA = a.seen;
    vmA = await serve(a.app);
    vmB = await serve(createGcpMetadataServer(vmBOptions(google, { tokenLifetimeSeconds: 900 })));
    delete process.env.GCE_METADATA_IP;
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
    // With no project in the environment, GoogleAuth runs `gcloud config config-helper` (a child process the
    // loopback guard cannot see) before asking the metadata server; the project ID is tested through gcpMetadata.
    process.env.GOOGLE_CLOUD_PROJECT = VM_A.projectId;
    useVm(vmA);
  });
  afterAll(async () => {
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all([google?.close(), vmA?.close(), vmB?.close()]);
  });

  it('GoogleAuth.getIdTokenClient: headers carry a verifiable token for the default account (format=full)', async () => {
    useVm(vmA);
    seenByA.length = 0;
    const client = await new GoogleAuth().getIdTokenClient(AUDIENCE);

    const headers = await client.getRequestHeaders();
    const token = String(headers.get('authorization')).replace(/^Bearer /, '');
    const payload = await verify(token);

    expect(payload).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: AUDIENCE,
      sub: VM_A.defaultAccount.uniqueId,
      azp: VM_A.defaultAccount.uniqueId,
      email: VM_A.defaultAccount.email,
      email_verified: true,
      google: {
        compute_engine: VM_A_COMPUTE_ENGINE,
      },
    });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(3600);
    expect(seenByA).toContain(
      `GET /computeMetadata/v1/instance/service-accounts/default/identity?format=full&audience=${AUDIENCE}`,
    );
  });

  it('IdTokenClient.idTokenProvider.fetchIdToken gives a fresh token for another audience', async () => {
    useVm(vmA);
    const client = await new GoogleAuth().getIdTokenClient(AUDIENCE);

    const first = await client.idTokenProvider.fetchIdToken('api://AzureADTokenExchange');
    const second = await client.idTokenProvider.fetchIdToken('api://AzureADTokenExchange');

    expect((await verify(first, 'api://AzureADTokenExchange')).sub).toBe(VM_A.defaultAccount.uniqueId);
    expect(second).not.toBe(first);
  });

  it('two VMs on two ports answer for their own default accounts, with their own lifetimes', async () => {
    useVm(vmA);
    const fromA = await verify(await new Compute().fetchIdToken(AUDIENCE));
    useVm(vmB);
    const fromB = await verify(await new Compute().fetchIdToken(AUDIENCE));

    expect(fromA).toMatchObject({ sub: VM_A.defaultAccount.uniqueId, email: VM_A.defaultAccount.email });
    expect(fromB).toMatchObject({ sub: VM_B.defaultAccount.uniqueId, email: VM_B.defaultAccount.email });
    expect(fromB.google).toMatchObject({
      compute_engine: { instance_name: VM_B.instance.name, zone: VM_B.instance.zone },
    });
    expect(Number(fromB.exp) - Number(fromB.iat)).toBe(900);
  });

  it('Compute with an explicit service-account email gets that account’s token', async () => {
    useVm(vmA);
    const payload = await verify(
      await new Compute({ serviceAccountEmail: VM_A.extraAccount.email }).fetchIdToken(AUDIENCE),
    );

    expect(payload).toMatchObject({ sub: VM_A.extraAccount.uniqueId, email: VM_A.extraAccount.email });
  });

  it('Compute for an account the VM lacks fails with the 404, and the message carries no token', async () => {
    useVm(vmA);
    const failure = new Compute({
      serviceAccountEmail: 'stranger@other.iam.gserviceaccount.com',
    }).fetchIdToken(AUDIENCE);

    await expect(failure).rejects.toMatchObject({
      message: expect.stringMatching(/^Could not fetch ID token/),
      status: 404,
    });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringMatching(/eyJ/) });
  });

  it('gcpMetadata reads project and account values the way GoogleAuth does', async () => {
    useVm(vmA);

    expect(await gcpMetadata.project('project-id')).toBe(VM_A.projectId);
    expect(await gcpMetadata.instance('service-accounts/default/email')).toBe(VM_A.defaultAccount.email);
    expect(String(await gcpMetadata.instance('id'))).toBe(VM_A.instance.id);
    expect(await gcpMetadata.universe('universe-domain')).toBe('googleapis.com');
    expect((await new GoogleAuth().getCredentials()).client_email).toBe(VM_A.defaultAccount.email);
  });
});

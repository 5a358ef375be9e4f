// Key Vault publishing end to end (issue 10): the refresh timer writes the demo app's Graph token to the
// Key Vault stand-in through @azure/keyvault-secrets, signed in as the broker's own vault identity; a
// workload reads it with SecretClient.getSecret; later runs write a new version only when the token
// changed, and a reader polling throughout never finds an expired latest version.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient } from '@azure/storage-blob';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedInstance, launchInstance } from '../../sandbox/lib/childLauncher.js';
import { callerToken, exchangeAt, refreshOn } from './instanceKit.js';
import { useLaunchedSandbox } from './launchedSandbox.js';

const sandbox = useLaunchedSandbox();
let eager: LaunchedInstance | undefined;
const keyed: LaunchedInstance[] = [];
let reader: SecretClient;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

beforeAll(async () => {
  const { e } = sandbox;
  Object.assign(process.env, e.callerEnvironment);
  // The reader: a workload that reads the secret with a token for the vault identity, from the broker.
  const subject = await callerToken(sandbox);
  const credential = {
    getToken: async () => {
      const { status, body } = await exchangeAt(sandbox, e.broker.url, subject, {
        target: e.demo.managedIdentityTarget,
      });
      if (status !== 200) throw new Error(`the broker refused the reader: ${status}`);
      return {
        token: body.access_token as string,
        expiresOnTimestamp: Date.now() + (body.expires_in as number) * 1000,
      };
    },
  };
  reader = new SecretClient(e.keyVault.vaultUrl, credential, { disableChallengeResourceVerification: true });
});

afterAll(async () => {
  for (const instance of [eager, ...keyed]) {
    if (!instance || instance.child.exitCode !== null) continue;
    instance.child.kill('SIGINT');
    await instance.exited;
  }
});

async function versionsOf(name: string): Promise<Array<{ version: string; expiresOn?: Date }>> {
  const versions: Array<{ version: string; expiresOn?: Date }> = [];
  for await (const properties of reader.listPropertiesOfSecretVersions(name))
    versions.push({ version: properties.version as string, expiresOn: properties.expiresOn });
  return versions;
}

describe('Key Vault publishing by the refresh timer', () => {
  it('publishes the target token as a secret a workload reads with SecretClient.getSecret', async () => {
    const { e, launched } = sandbox;
    const label = `${e.keyVault.target} ${e.keyVault.scope}`;

    const run = await refreshOn(e.broker.url, () => launched.output());
    const secret = await reader.getSecret(e.keyVault.secretName);

    expect(run).toMatchObject({ published: [label], failed: [] });
    const value = secret.value as string;
    expect(secret.properties.tags).toEqual({
      target: e.keyVault.target,
      scope: e.keyVault.scope,
      tokenSha256: sha256(value),
    });
    expect(secret.properties.contentType).toBe('application/jwt');
    expect(decodeJwt(value).aud).toBe('https://graph.microsoft.com');
    // The broker counts expiry from when it sent the request; Entra from when it issued the token.
    const expiresOn = secret.properties.expiresOn?.getTime() as number;
    expect(Math.abs(expiresOn - (decodeJwt(value).exp as number) * 1000)).toBeLessThanOrEqual(5000);
    expect(secret.properties.expiresOn?.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(secret.properties.notBefore?.getTime()).toBeLessThanOrEqual(Date.now());
    sandbox.secrets.add(value);
  });

  it('writes no new version while the token is unchanged', async () => {
    const { e, launched } = sandbox;
    const run = await refreshOn(e.broker.url, () => launched.output());

    expect(run).toMatchObject({ published: [], failed: [] });
    expect(await versionsOf(e.keyVault.secretName)).toHaveLength(1);
  });

  it('writes each new token as a new version before the old expires; a reader polling never sees an expired latest', async () => {
    const { e } = sandbox;
    // An instance whose refresh margin exceeds any token's lifetime refreshes (and publishes) on every run.
    eager = await launchInstance(sandbox.launched, {
      TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS: '86400',
    });
    const instance = eager;
    // The override reaches the instance through its environment, not its command line, which `ps` shows to all.
    expect(readFileSync(`/proc/${instance.child.pid}/cmdline`, 'utf8')).not.toContain('TOKEN_REFRESH');
    const seen: Array<{ version: string | undefined; expiresOn: number; valid: boolean }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const latest = await reader.getSecret(e.keyVault.secretName);
        seen.push({
          version: latest.properties.version,
          expiresOn: latest.properties.expiresOn?.getTime() ?? 0,
          valid: sha256(latest.value as string) === latest.properties.tags?.tokenSha256,
        });
        sandbox.secrets.add(latest.value as string);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await refreshOn(instance.url, instance.output));
    polling = false;
    await poller;

    for (const run of runs)
      expect(run).toMatchObject({ published: [`${e.keyVault.target} ${e.keyVault.scope}`], failed: [] });
    const versions = await versionsOf(e.keyVault.secretName);
    expect(versions).toHaveLength(4);
    // Old versions stay readable until they expire: none was deleted or cut short.
    for (const { version, expiresOn } of versions) {
      expect(expiresOn?.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
      expect((await reader.getSecret(e.keyVault.secretName, { version })).value).toMatch(/^eyJ/);
    }
    expect(new Set(seen.map((item) => item.version)).size).toBeGreaterThan(1);
    for (const item of seen) {
      expect(item.valid).toBe(true);
      expect(item.expiresOn).toBeGreaterThan(Date.now());
    }
  }, 90_000);

  it('seals the shared tier with keys kept in Key Vault, and rotates them by adding a version', async () => {
    const { e, launched } = sandbox;
    const keySecret = 'broker-cache-key';
    const newKey = () => {
      const key = randomBytes(32).toString('base64');
      sandbox.secrets.add(key);
      return key;
    };
    const first = await reader.setSecret(keySecret, newKey());
    const container = 'vault-keyed-cache';
    const keyedByVault = {
      TOKEN_CACHE_KEYS: null,
      TOKEN_CACHE_KEY_SECRET_URL: `${e.keyVault.vaultUrl}/secrets/${keySecret}`,
      TOKEN_SHARED_CACHE_CONTAINER: container,
    };
    const [x, y] = [
      await launchInstance(launched, keyedByVault),
      await launchInstance(launched, keyedByVault),
    ];
    keyed.push(x, y);
    const subject = await callerToken(sandbox);
    const sealedWith = async () => {
      const blobs = BlobServiceClient.fromConnectionString(e.azurite.connectionString).getContainerClient(
        container,
      );
      const versions: string[] = [];
      for await (const blob of blobs.listBlobsFlat()) {
        const body = (await blobs.getBlockBlobClient(blob.name).downloadToBuffer()).toString();
        versions.push((JSON.parse(body) as { k: string }).k);
      }
      return versions.sort();
    };

    const atX = await exchangeAt(sandbox, x.url, subject);
    const atY = await exchangeAt(sandbox, y.url, subject);
    expect(x.output()).toContain(
      `"event":"shared_cache.enabled","container":"${container}","keySource":"key_vault","keyVersions":["${first.properties.version}"]`,
    );
    expect(atY.body.access_token).toBe(atX.body.access_token);
    expect(y.output()).toMatch(/"outcome":"granted"[^}]*"cache":"shared"/);
    expect(await sealedWith()).toEqual([first.properties.version]);

    // Rotation: a new version; each instance's next timer run loads it, and seals with it from then on.
    const second = await reader.setSecret(keySecret, newKey());
    await Promise.all([refreshOn(x.url, x.output), refreshOn(y.url, y.output)]);
    const rotated = `"event":"shared_cache.keys_loaded","keyVersions":["${second.properties.version}","${first.properties.version}"]`;
    expect(x.output()).toContain(rotated);
    expect(y.output()).toContain(rotated);
    const graphAtX = await exchangeAt(sandbox, x.url, subject, { scope: e.keyVault.scope });
    const graphAtY = await exchangeAt(sandbox, y.url, subject, { scope: e.keyVault.scope });
    expect(graphAtY.body.access_token).toBe(graphAtX.body.access_token);
    expect(await sealedWith()).toEqual([first.properties.version, second.properties.version].sort());

    // A cold instance opens tokens sealed with the old version as well as the new.
    const cold = await launchInstance(launched, keyedByVault);
    keyed.push(cold);
    expect((await exchangeAt(sandbox, cold.url, subject)).body.access_token).toBe(atX.body.access_token);
    expect(
      (await exchangeAt(sandbox, cold.url, subject, { scope: e.keyVault.scope })).body.access_token,
    ).toBe(graphAtX.body.access_token);
    expect(cold.output().match(/"outcome":"granted"[^}]*"cache":"shared"/g)).toHaveLength(2);
  }, 90_000);

  it('leaks no token and no cache key into any log', () => {
    expect(sandbox.leaked()).toEqual([]);
    const outputs = [eager, ...keyed].map((instance) => instance?.output() ?? '').join('\n');
    for (const secret of sandbox.secrets) expect(outputs.includes(secret)).toBe(false);
    for (const instance of [eager, ...keyed])
      expect(instance?.output() ?? '').not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});

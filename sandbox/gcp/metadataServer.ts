// A stand-in Compute Engine metadata server for one VM, over plain http as the real one, on loopback only.
import { randomBytes } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type RunningServer, serve } from '../lib/serve.js';
import { mintIdentityToken, parseIdentityQuery } from './identityToken.js';
import {
  aliasesOf,
  createGcpVm,
  type GcpMetadataServerOptions,
  type GcpVm,
  type VmServiceAccount,
} from './model.js';
import {
  htmlError,
  metadataHeaders,
  notFound,
  redirectToDirectory,
  sendJsonText,
  sendListing,
  sendValue,
} from './wire.js';

const V1 = '/computeMetadata/v1';
const ACCOUNT_LEAVES = ['aliases', 'email', 'identity', 'scopes', 'token'] as const;

const isRecursive = (c: Context): boolean => c.req.query('recursive')?.toLowerCase() === 'true';

/** Registers `path` (redirects to `path/`) and `path/` (listing, or JSON with `?recursive=true`). */
function directory(app: Hono, path: string, entries: () => string[], recursiveJson: () => string): void {
  app.get(path, redirectToDirectory);
  app.get(`${path}/`, (c) => (isRecursive(c) ? sendJsonText(c, recursiveJson()) : sendListing(c, entries())));
}

// Recursive answers use camelCase keys as the real server's (`serviceAccounts`, `numericProjectId`).
// The instance ID is a uint64 written as a bare JSON number, which is why gcp-metadata parses with json-bigint.
const accountJson = (vm: GcpVm, account: VmServiceAccount): Record<string, unknown> => ({
  aliases: aliasesOf(vm, account.email),
  email: account.email,
  scopes: account.scopes,
});

const accountsJson = (vm: GcpVm): string => {
  const listed: Record<string, unknown> = {};
  for (const account of vm.serviceAccounts) listed[account.email] = accountJson(vm, account);
  if (vm.defaultAccount) listed.default = accountJson(vm, vm.defaultAccount);
  return JSON.stringify(listed);
};

const instanceJson = (vm: GcpVm): string =>
  `{"id":${vm.instance.id},"name":${JSON.stringify(vm.instance.name)},` +
  `"serviceAccounts":${accountsJson(vm)},"zone":${JSON.stringify(vm.zonePath)}}`;

const projectJson = (vm: GcpVm): string =>
  JSON.stringify({ numericProjectId: vm.projectNumber, projectId: vm.projectId });

/** `googleapis.com`: the default universe (google-auth-library asks for it; a 404 would also do). */
const UNIVERSE_DOMAIN = 'googleapis.com';
const universeJson = JSON.stringify({ universeDomain: UNIVERSE_DOMAIN });

const accountListing = (vm: GcpVm): string[] => [
  ...vm.serviceAccounts.map((account) => `${account.email}/`),
  ...(vm.defaultAccount ? ['default/'] : []),
];

/**
 * Creates the metadata server of one VM as a Hono app (plain http, as the real server). Each VM has its
 * own server: google-auth-library's `GCE_METADATA_HOST` keeps only host and port, so two VMs need two
 * ports. Throws, naming the option, when the options are not a plausible VM.
 */
export function createGcpMetadataServer(options: GcpMetadataServerOptions): Hono {
  const vm = createGcpVm(options);
  const app = new Hono();
  app.use('*', metadataHeaders);
  app.notFound(notFound);

  const v1Json = (): string =>
    `{"instance":${instanceJson(vm)},"project":${projectJson(vm)},"universe":${universeJson}}`;
  app.get('/', (c) => sendListing(c, ['computeMetadata/']));
  directory(
    app,
    '/computeMetadata',
    () => ['v1/'],
    () => `{"v1":${v1Json()}}`,
  );
  directory(app, V1, () => ['instance/', 'project/', 'universe/'], v1Json);

  directory(
    app,
    `${V1}/instance`,
    () => ['id', 'name', 'service-accounts/', 'zone'],
    () => instanceJson(vm),
  );
  app.get(`${V1}/instance/id`, (c) => sendValue(c, vm.instance.id));
  app.get(`${V1}/instance/name`, (c) => sendValue(c, vm.instance.name));
  app.get(`${V1}/instance/zone`, (c) => sendValue(c, vm.zonePath));

  directory(
    app,
    `${V1}/project`,
    () => ['numeric-project-id', 'project-id'],
    () => projectJson(vm),
  );
  app.get(`${V1}/project/project-id`, (c) => sendValue(c, vm.projectId));
  app.get(`${V1}/project/numeric-project-id`, (c) => sendValue(c, String(vm.projectNumber)));

  directory(
    app,
    `${V1}/universe`,
    () => ['universe-domain'],
    () => universeJson,
  );
  app.get(`${V1}/universe/universe-domain`, (c) => sendValue(c, UNIVERSE_DOMAIN));

  directory(
    app,
    `${V1}/instance/service-accounts`,
    () => accountListing(vm),
    () => accountsJson(vm),
  );

  const accountPath = `${V1}/instance/service-accounts/:account`;
  app.get(accountPath, (c) =>
    vm.resolveAccount(c.req.param('account')) ? redirectToDirectory(c) : notFound(c),
  );
  app.get(`${accountPath}/`, (c) => {
    const account = vm.resolveAccount(c.req.param('account'));
    if (!account) return notFound(c);
    return isRecursive(c)
      ? sendJsonText(c, JSON.stringify(accountJson(vm, account)))
      : sendListing(c, [...ACCOUNT_LEAVES]);
  });
  app.get(`${accountPath}/:leaf`, async (c) => {
    const account = vm.resolveAccount(c.req.param('account'));
    if (!account) return notFound(c);
    switch (c.req.param('leaf')) {
      case 'aliases':
        return sendListing(c, aliasesOf(vm, account.email));
      case 'email':
        return sendValue(c, account.email);
      case 'scopes':
        return sendListing(c, account.scopes);
      case 'identity': {
        const request = parseIdentityQuery(new URL(c.req.url).searchParams);
        if ('error' in request) return htmlError(c, 400, request.error);
        // The real server answers the bare JWT as a value, `application/text` (the emulator says text/html).
        return sendValue(c, await mintIdentityToken(vm, account, request));
      }
      case 'token':
        return sendJsonText(c, accessTokenJson(vm));
      default:
        return notFound(c);
    }
  });
  return app;
}

/**
 * The access-token endpoint, which the broker does not use: a random opaque `ya29.sandbox-…` string that no
 * stand-in accepts, so Compute clients that ask for one get the right shape. `scopes` is not checked, and
 * no token is cached (the real server reuses one until about 5 minutes before expiry). [not modelled]
 */
function accessTokenJson(vm: GcpVm): string {
  const accessToken = `ya29.sandbox-${randomBytes(32).toString('base64url')}`;
  return JSON.stringify({
    access_token: accessToken,
    expires_in: vm.tokenLifetimeSeconds,
    token_type: 'Bearer',
  });
}

/** A started metadata server: its URL and the `GCE_METADATA_HOST` value that points clients at it. */
export interface RunningGcpMetadataServer extends RunningServer {
  /** `127.0.0.1:<port>`, the value for `GCE_METADATA_HOST` (google-auth-library drops any path). */
  metadataHost: string;
}

/** Creates the VM's metadata server and serves it over plain http on loopback (port 0 picks a free one). */
export async function startGcpMetadataServer(
  options: GcpMetadataServerOptions & { port?: number; host?: string },
): Promise<RunningGcpMetadataServer> {
  const server = await serve(createGcpMetadataServer(options), { port: options.port, host: options.host });
  return { ...server, metadataHost: new URL(server.url).host };
}

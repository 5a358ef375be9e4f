// The vault's admin API (mounted under /admin; sandbox only, no authentication): secrets without their
// values, faults, counters, the request log and access policies. Paths are listed in ./README.md.
import { Hono } from 'hono';
import { mountFaultRoutes } from '../lib/faultTable.js';
import { SECRET_PERMISSIONS, type SecretPermission } from './options.js';
import type { RequestLog } from './requestLog.js';
import type { SecretStore } from './secretStore.js';
import { attributesJson, type RecoveryInfo } from './secretWire.js';
import { type VaultFaults, vaultFaultSchema } from './vaultFaults.js';

export interface VaultAdminDeps {
  store: SecretStore;
  faults: VaultFaults;
  log: RequestLog;
  recovery: RecoveryInfo;
  accessPolicies: Map<string, ReadonlySet<SecretPermission>>;
}

/** Admin routes, relative to their mount point. */
export function vaultAdminRoutes(deps: VaultAdminDeps): Hono {
  const app = new Hono();

  // Names, versions (creation order, the last is current) and attributes; never a value.
  app.get('/secrets', (c) =>
    c.json({
      secrets: deps.store.secrets().map((secret) => ({
        name: secret.name,
        versions: secret.versions.map((version, index) => ({
          version: version.version,
          current: index === secret.versions.length - 1,
          ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
          ...(version.tags !== undefined ? { tags: version.tags } : {}),
          attributes: attributesJson(version, deps.recovery),
        })),
      })),
    }),
  );

  mountFaultRoutes(app, vaultFaultSchema, deps.faults);

  app.get('/counters', (c) => c.json(deps.log.counters()));
  app.post('/counters/reset', (c) => {
    deps.log.reset();
    return c.body(null, 204);
  });
  app.get('/requests', (c) => {
    const limit = Number(c.req.query('limit') ?? '50');
    return c.json({ requests: deps.log.last(Number.isInteger(limit) && limit >= 0 ? limit : 50) });
  });

  app.get('/access-policies', (c) =>
    c.json({
      accessPolicies: Object.fromEntries(
        [...deps.accessPolicies].map(([identity, permissions]) => [identity, [...permissions]]),
      ),
    }),
  );
  // Body `{ identity, permissions }`; an empty list removes the identity's entry.
  app.put('/access-policies', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as
      | { identity?: unknown; permissions?: unknown }
      | undefined;
    const permissions = body?.permissions;
    if (
      typeof body?.identity !== 'string' ||
      !Array.isArray(permissions) ||
      !permissions.every((p) => SECRET_PERMISSIONS.includes(p as SecretPermission))
    ) {
      return c.json(
        { error: 'invalid_policy', issues: ['identity: string; permissions: secret permissions'] },
        400,
      );
    }
    setAccessPolicy(deps.accessPolicies, body.identity, permissions as SecretPermission[]);
    return c.body(null, 204);
  });

  return app;
}

/** Replaces one identity's permissions (an object id or app id, any case); an empty list removes it. Throws on unknown names. */
export function setAccessPolicy(
  policies: Map<string, ReadonlySet<SecretPermission>>,
  identity: string,
  permissions: readonly SecretPermission[],
): void {
  const unknown = permissions.filter((permission) => !SECRET_PERMISSIONS.includes(permission));
  if (unknown.length > 0)
    throw new Error(`key vault stand-in: unknown secret permission(s) ${unknown.join(', ')}`);
  if (permissions.length === 0) policies.delete(identity.toLowerCase());
  else policies.set(identity.toLowerCase(), new Set(permissions));
}

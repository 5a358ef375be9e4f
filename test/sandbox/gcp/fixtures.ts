// Shared fixtures for the GCP metadata-server stand-in tests: two plausible VMs, a settable clock, JWT reading.
import { Hono } from 'hono';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Clock, GcpMetadataServerOptions } from '../../../sandbox/gcp/model.js';
import type { OidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';

export const AUDIENCE = 'https://broker.example.com';

/** 2026-01-01T00:00:00Z, in milliseconds. */
export const T0_MS = Date.UTC(2026, 0, 1);

/** A clock tests move by hand. */
export interface FakeClock extends Clock {
  set(ms: number): void;
}

export function fakeClock(startMs = T0_MS): FakeClock {
  let now = startMs;
  return { now: () => now, set: (ms) => (now = ms) };
}

export const VM_A = {
  projectId: 'broker-proj-a',
  projectNumber: 111111111111,
  instance: {
    id: '1234567890123456789',
    name: 'vm-a',
    zone: 'us-central1-a',
    creationTimestampSeconds: 1735689600,
  },
  defaultAccount: {
    email: 'caller-a@broker-proj-a.iam.gserviceaccount.com',
    uniqueId: '100000000000000000001',
  },
  extraAccount: { email: 'second@broker-proj-a.iam.gserviceaccount.com', uniqueId: '100000000000000000002' },
} as const;

/** The `google.compute_engine` claims VM A's identity tokens carry with `format=full`. */
export const VM_A_COMPUTE_ENGINE = {
  instance_creation_timestamp: VM_A.instance.creationTimestampSeconds,
  instance_id: VM_A.instance.id,
  instance_name: VM_A.instance.name,
  project_id: VM_A.projectId,
  project_number: VM_A.projectNumber,
  zone: VM_A.instance.zone,
};

export const VM_B = {
  projectId: 'broker-proj-b',
  projectNumber: 222222222222,
  instance: {
    id: '9876543210987654321',
    name: 'vm-b',
    zone: 'europe-west1-b',
    creationTimestampSeconds: 1738368000,
  },
  defaultAccount: {
    email: 'caller-b@broker-proj-b.iam.gserviceaccount.com',
    uniqueId: '200000000000000000001',
  },
} as const;

/** Options for VM A: its default account plus a second one reachable only by email. */
export function vmAOptions(
  issuer: OidcIssuer,
  extra: Partial<GcpMetadataServerOptions> = {},
): GcpMetadataServerOptions {
  return {
    projectId: VM_A.projectId,
    projectNumber: VM_A.projectNumber,
    instance: { ...VM_A.instance },
    serviceAccounts: [{ ...VM_A.defaultAccount, default: true }, { ...VM_A.extraAccount }],
    issuer,
    ...extra,
  };
}

/** Options for VM B: one default account. */
export function vmBOptions(
  issuer: OidcIssuer,
  extra: Partial<GcpMetadataServerOptions> = {},
): GcpMetadataServerOptions {
  return {
    projectId: VM_B.projectId,
    projectNumber: VM_B.projectNumber,
    instance: { ...VM_B.instance },
    serviceAccounts: [{ ...VM_B.defaultAccount, default: true }],
    issuer,
    ...extra,
  };
}

/** Unverified header and payload of a compact JWT (tests verify signatures separately). */
export function readJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  return { header: decodeProtectedHeader(token), payload: decodeJwt(token) as Record<string, unknown> };
}

/** Wraps an app so a test can see every request's method, path and query as the server received them. */
export function recording(app: Hono): { app: Hono; seen: string[] } {
  const seen: string[] = [];
  const outer = new Hono();
  outer.all('*', (c) => {
    const url = new URL(c.req.url);
    seen.push(`${c.req.method} ${url.pathname}${url.search}`);
    return app.fetch(c.req.raw, c.env);
  });
  return { app: outer, seen };
}

// Fault injection for the token endpoint, per tenant: added latency, throttling (429 + Retry-After) and
// outages (5xx), for a number of requests or a time window (protocols.md §A.5 "Throttling"; perf-reliability.md).
import { z } from 'zod';
import { FaultTable, type StoredFault } from '../lib/faultTable.js';

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 time');

/** Body of `POST /admin/faults`. */
export const faultSpecSchema = z
  .object({
    /** Tenant GUID, verified domain or path segment the fault applies to; `*` for every tenant. */
    tenant: z.string().min(1),
    /** Only requests with this client_id (any client when absent). */
    clientId: z.string().min(1).optional(),
    /** Delay before answering (or before the normal processing), milliseconds. */
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    /** Answer with this HTTP status instead of processing the request. */
    status: z.number().int().min(400).max(599).optional(),
    /** `Retry-After` value in seconds; 429 defaults to 60 (§A.5), other statuses send none unless set. */
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    /** Body of a 429: plain text `Too Many Requests` or Entra JSON (AADSTS90055); the stand-in default otherwise. */
    throttleBody: z.enum(['text', 'json']).optional(),
    /** Number of requests the fault applies to; unlimited when absent. */
    count: z.number().int().positive().optional(),
    /** Start of the outage window (inclusive), ISO 8601, compared with the stand-in's clock. */
    from: isoTime.optional(),
    /** End of the outage window (exclusive), ISO 8601. */
    until: isoTime.optional(),
  })
  .strict()
  .refine((spec) => spec.latencyMs !== undefined || spec.status !== undefined, {
    message: 'a fault needs latencyMs, status, or both',
  });

export type FaultSpec = z.infer<typeof faultSpecSchema>;

/** A stored fault: its spec, an id and how many applications are left (null = unlimited). */
export type Fault = StoredFault<FaultSpec>;

/** What a matching fault asks the token endpoint to do. */
export interface FaultAction {
  faultId: string;
  latencyMs: number;
  status: number | undefined;
  retryAfterSeconds: number | undefined;
  throttleBody: 'text' | 'json' | undefined;
}

/** The fault table. The first matching, active fault wins; each use counts against its `count`. */
export class FaultInjector extends FaultTable<FaultSpec> {
  /**
   * Finds the fault for a request to a tenant (matched by any of its names: GUID, domains, path segment,
   * compared ignoring case) at `nowMs` (epoch milliseconds), and consumes one use of it.
   */
  take(tenantNames: readonly string[], clientId: string, nowMs: number): FaultAction | undefined {
    const names = tenantNames.map((name) => name.toLowerCase());
    const fault = this.takeFirst(
      (candidate) =>
        (candidate.tenant === '*' || names.includes(candidate.tenant.toLowerCase())) &&
        (candidate.clientId === undefined || candidate.clientId.toLowerCase() === clientId.toLowerCase()) &&
        (candidate.from === undefined || nowMs >= Date.parse(candidate.from)) &&
        (candidate.until === undefined || nowMs < Date.parse(candidate.until)),
    );
    if (!fault) return undefined;
    return {
      faultId: fault.id,
      latencyMs: fault.latencyMs ?? 0,
      status: fault.status,
      retryAfterSeconds: fault.retryAfterSeconds ?? (fault.status === 429 ? 60 : undefined),
      throttleBody: fault.throttleBody,
    };
  }
}

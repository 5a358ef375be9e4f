// Fault injection for the vault (sandbox only): throttling (429) and outages (5xx) for a number of requests,
// optionally for one operation, so that tests can watch the SDK's retry policy act on them.
import { z } from 'zod';
import { FaultTable, type StoredFault } from '../lib/faultTable.js';
import { VAULT_OPERATIONS } from './vaultOperations.js';

/** Body of `POST /admin/faults`. */
export const vaultFaultSchema = z
  .object({
    /** Status to answer with: 429 or a 5xx. */
    status: z
      .number()
      .int()
      .refine((status) => status === 429 || (status >= 500 && status <= 599), {
        message: 'status must be 429 or 5xx',
      }),
    /** `error.code` of the body; `Throttled` for 429 (observed), `ServiceUnavailable` otherwise. */
    code: z.string().min(1).optional(),
    /** `error.message` of the body; Key Vault's observed 429 text unless told. */
    message: z.string().min(1).optional(),
    /**
     * `Retry-After` in seconds; none unless set (a real 429 was observed without one, and the SDK's
     * throttling retry acts only when the header is there).
     */
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    /** Only this operation (e.g. `getSecret`); every operation when absent. */
    operation: z.enum(VAULT_OPERATIONS).optional(),
    /** Number of requests it applies to; unlimited when absent. */
    count: z.number().int().positive().optional(),
  })
  .strict();

export type VaultFaultSpec = z.infer<typeof vaultFaultSchema>;

/** A stored fault with its id and remaining uses (null = unlimited). */
export type VaultFault = StoredFault<VaultFaultSpec>;

/** The fault table; the first active fault matching the operation wins and uses one of its `count`. */
export class VaultFaults extends FaultTable<VaultFaultSpec> {
  /** Consumes and returns the fault for this operation, if any. */
  take(operation: string): VaultFault | undefined {
    return this.takeFirst(
      (candidate) => candidate.operation === undefined || candidate.operation === operation,
    );
  }
}

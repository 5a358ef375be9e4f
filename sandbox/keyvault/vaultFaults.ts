// Fault injection for the vault (sandbox only): throttling (429) and outages (5xx) for a number of requests,
// optionally for one operation, so that tests can watch the SDK's retry policy act on them.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
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
export interface VaultFault extends VaultFaultSpec {
  id: string;
  remaining: number | null;
}

/** The fault table; the first active fault matching the operation wins and uses one of its `count`. */
export class VaultFaults {
  readonly #faults: VaultFault[] = [];

  add(spec: VaultFaultSpec): VaultFault {
    const fault: VaultFault = { ...spec, id: randomUUID(), remaining: spec.count ?? null };
    this.#faults.push(fault);
    return { ...fault };
  }

  list(): VaultFault[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  remove(id: string): boolean {
    const index = this.#faults.findIndex((fault) => fault.id === id);
    if (index >= 0) this.#faults.splice(index, 1);
    return index >= 0;
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /** Consumes and returns the fault for this operation, if any. */
  take(operation: string): VaultFault | undefined {
    const fault = this.#faults.find(
      (candidate) =>
        (candidate.remaining === null || candidate.remaining > 0) &&
        (candidate.operation === undefined || candidate.operation === operation),
    );
    if (fault?.remaining != null) fault.remaining -= 1;
    return fault ? { ...fault } : undefined;
  }
}

// Fault injection for the managed identity endpoint stand-in (sandbox only): an answer with any status, raw
// body and optional Location, or a delay before the real answer, for a number of requests, so tests can watch the broker's
// source fail, time out and recover.
import { z } from 'zod';
import { FaultTable, type StoredFault } from '../lib/faultTable.js';

/** Body of `POST /admin/faults`. */
export const endpointFaultSchema = z
  .object({
    /** Status to answer with instead of the token (any 2xx-5xx, so a 200 with a bad body can be played). */
    status: z.number().int().min(200).max(599).optional(),
    /** Raw body text of that answer (need not be JSON); `{"error":"injected"}` unless told. */
    body: z.string().max(65_536).optional(),
    /** `Location` of that answer, to play a redirect that would carry the header elsewhere (3xx only). */
    location: z.string().url().optional(),
    /** Milliseconds to wait before answering (with the fault's status, or the real answer without one). */
    delayMs: z.number().int().min(0).max(30_000).optional(),
    /** Number of requests it applies to; unlimited when absent. */
    count: z.number().int().positive().optional(),
  })
  .strict()
  .refine((fault) => fault.status !== undefined || fault.delayMs !== undefined, {
    message: 'a fault needs a status or a delayMs',
  })
  .refine(
    (fault) =>
      fault.location === undefined ||
      (fault.status !== undefined && fault.status >= 300 && fault.status < 400),
    { message: 'a location needs a 3xx status' },
  );

export type EndpointFaultSpec = z.infer<typeof endpointFaultSchema>;
export type EndpointFault = StoredFault<EndpointFaultSpec>;

/**
 * The fault table; the first fault with uses left applies to the next token request. A request without the
 * right header is refused before any status fault (the platform authenticates first): it takes delay-only
 * faults alone, and leaves status faults for the next authenticated request.
 */
export class EndpointFaults extends FaultTable<EndpointFaultSpec> {
  take(authenticated: boolean): EndpointFault | undefined {
    return this.takeFirst((fault) => authenticated || fault.status === undefined);
  }
}

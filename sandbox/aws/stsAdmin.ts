// The STS stand-in's sandbox-only controls (issue 8): an injected fault (an error, a redirect, latency) for
// the broker's retry and failure tests, and per-Action request counters. Real STS has nothing like them.
import { type Context, Hono } from 'hono';
import { errorResponse, redirectResponse } from './stsWire.js';

/**
 * A fault injected in front of STS. With `redirectTo` the answer is a redirect (status 302 unless told,
 * one of 301/302/303/307/308) with that `Location` and an empty body. With `code` it is an STS XML error
 * (status 400 unless told; `message` defaults to the code). A bare `status` of 500 or 503 answers
 * InternalFailure or ServiceUnavailable. `latencyMs` delays the answer; alone, it delays the real answer.
 */
export interface StsFault {
  status?: number;
  code?: string;
  message?: string;
  /** Adds `Retry-After: <seconds>` to the fault's answer. */
  retryAfterSeconds?: number;
  latencyMs?: number;
  redirectTo?: string;
  /** Only requests naming this Action are faulted; every request unless told. */
  action?: string;
  /** How many matching requests are faulted before the fault clears itself; unlimited unless told. */
  count?: number;
}

/** A refused admin request (400). */
export class StsAdminError extends Error {
  override readonly name = 'StsAdminError';
}

const REDIRECTS = [301, 302, 303, 307, 308];
const DEFAULT_CODES: Readonly<Record<number, string>> = { 500: 'InternalFailure', 503: 'ServiceUnavailable' };
// A Map, not an object literal: a member named `__proto__` must not find Object.prototype.
const FIELDS = new Map<string, 'number' | 'string'>([
  ['status', 'number'],
  ['code', 'string'],
  ['message', 'string'],
  ['retryAfterSeconds', 'number'],
  ['latencyMs', 'number'],
  ['redirectTo', 'string'],
  ['action', 'string'],
  ['count', 'number'],
]);

const whole = (value: number | undefined, min: number, max: number): boolean =>
  value === undefined || (Number.isSafeInteger(value) && value >= min && value <= max);

/** Checks a fault and fills its defaults; throws `StsAdminError` naming what is wrong. */
export function checkFault(input: unknown): StsFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StsAdminError('the fault must be a JSON object');
  }
  for (const [name, value] of Object.entries(input)) {
    const type = FIELDS.get(name);
    if (type === undefined) throw new StsAdminError(`unknown field ${name}`);
    if (typeof value !== type) throw new StsAdminError(`${name} must be a ${type}`);
  }
  const fault = { ...(input as StsFault) };
  if (!whole(fault.latencyMs, 0, 60_000))
    throw new StsAdminError('latencyMs must be an integer from 0 to 60000');
  if (!whole(fault.retryAfterSeconds, 0, 86_400))
    throw new StsAdminError('retryAfterSeconds must be 0 to 86400');
  if (!whole(fault.count, 1, 1_000_000)) throw new StsAdminError('count must be a positive integer');
  if (fault.redirectTo !== undefined) {
    if (!URL.canParse(fault.redirectTo)) throw new StsAdminError('redirectTo must be an absolute URL');
    if (fault.code !== undefined) throw new StsAdminError('give redirectTo or code, not both');
    fault.status ??= 302;
    if (!REDIRECTS.includes(fault.status))
      throw new StsAdminError(`a redirect status is one of ${REDIRECTS}`);
    return fault;
  }
  if (fault.code === undefined && fault.status !== undefined) fault.code = DEFAULT_CODES[fault.status];
  if (fault.status !== undefined && fault.code === undefined) {
    throw new StsAdminError(`give a code for status ${fault.status} (only 500 and 503 have a default)`);
  }
  if (fault.code !== undefined) {
    fault.status ??= 400;
    if (!whole(fault.status, 400, 599)) throw new StsAdminError('an error status is 400 to 599');
  } else if (fault.latencyMs === undefined) {
    throw new StsAdminError('give status, code, redirectTo or latencyMs');
  }
  return fault;
}

/** The fault's own answer, or undefined for a latency-only fault (the real answer follows the delay). */
export function faultResponse(fault: StsFault, requestId: string, nowMs: number): Response | undefined {
  let response: Response;
  if (fault.redirectTo !== undefined) {
    response = redirectResponse(fault.status ?? 302, fault.redirectTo, requestId, nowMs);
  } else if (fault.code !== undefined) {
    const message = fault.message ?? fault.code;
    response = errorResponse({ status: fault.status ?? 400, code: fault.code, message }, requestId, nowMs);
  } else {
    return undefined;
  }
  if (fault.retryAfterSeconds !== undefined)
    response.headers.set('Retry-After', String(fault.retryAfterSeconds));
  return response;
}

/** The current fault, consumed request by request. */
export class StsFaults {
  #fault: StsFault | undefined;
  #left = Number.POSITIVE_INFINITY;

  set(fault: StsFault | undefined): void {
    this.#fault = fault && checkFault(fault);
    this.#left = fault?.count ?? Number.POSITIVE_INFINITY;
  }

  current(): StsFault | undefined {
    return this.#fault && { ...this.#fault };
  }

  /** The fault for a request naming `action`, counting it against `count`; undefined when none applies. */
  take(action: string | undefined): StsFault | undefined {
    const fault = this.#fault;
    if (!fault || (fault.action !== undefined && fault.action !== action)) return undefined;
    this.#left -= 1;
    if (this.#left <= 0) this.#fault = undefined;
    return fault;
  }
}

/** Requests that reached the STS endpoint, per Action (`(none)` when the request named none). */
export class StsCounters {
  readonly #counts = new Map<string, number>();

  record(action: string | undefined): void {
    const key = action ?? '(none)';
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  reset(): void {
    this.#counts.clear();
  }
}

const refused = (c: Context, error: unknown): Response => {
  if (error instanceof StsAdminError) return c.json({ error: error.message }, 400);
  throw error;
};

/**
 * The `/admin` routes (sandbox only; unauthenticated, so the server binds loopback only):
 * `POST /admin/faults` (a `StsFault` as JSON) → 200 `{"fault": …}` with defaults filled, 400 `{"error"}`
 * for anything refused; `GET` / `DELETE /admin/faults`; `GET /admin/counters` → `{"counters": {Action: n}}`;
 * `POST /admin/counters/reset` → 204.
 */
export function stsAdminRoutes(faults: StsFaults, counters: StsCounters): Hono {
  const routes = new Hono();
  routes.post('/faults', async (c) => {
    try {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        throw new StsAdminError('the body is not valid JSON');
      }
      faults.set(checkFault(body));
      return c.json({ fault: faults.current() });
    } catch (error) {
      return refused(c, error);
    }
  });
  routes.get('/faults', (c) => c.json({ fault: faults.current() ?? null }));
  routes.delete('/faults', (c) => {
    faults.set(undefined);
    return c.body(null, 204);
  });
  routes.get('/counters', (c) => c.json({ counters: counters.snapshot() }));
  routes.post('/counters/reset', (c) => {
    counters.reset();
    return c.body(null, 204);
  });
  return routes;
}

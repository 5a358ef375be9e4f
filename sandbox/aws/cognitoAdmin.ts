// The Cognito stand-in's test-only `/admin` routes: injected faults (throttling, 5xx, latency) and request
// counters per operation. Sandbox only: the real service has nothing like them, and they need no
// authentication, so the stand-in is only ever bound to loopback.
import { type Context, Hono } from 'hono';
import { type CognitoOperation, OPERATIONS } from './cognitoWire.js';

/** An injected fault; see `cognitoAdminRoutes` for the JSON form. */
export interface CognitoFault {
  /** Only this operation; every operation unless told. */
  op?: CognitoOperation;
  /** Answer with this status and error `__type` (give both, or neither for latency only). */
  status?: number;
  type?: string;
  message?: string;
  /** Adds `Retry-After: <n>` to the error answer. */
  retryAfterSeconds?: number;
  /** Delay before answering (or before handling normally), milliseconds. */
  latencyMs?: number;
  /** How many requests it hits before it is spent; every request unless told. */
  times?: number;
}

/** Requests per operation (`other` for unknown targets), and how many of them were answered with an error. */
export type CognitoCounts = Record<CognitoOperation | 'other', { requests: number; errors: number }>;

const FIELDS: Record<string, (v: unknown) => boolean> = {
  op: (v) => typeof v === 'string' && (OPERATIONS as string[]).includes(v),
  status: (v) => Number.isSafeInteger(v) && (v as number) >= 400 && (v as number) <= 599,
  type: (v) => typeof v === 'string' && /^[A-Za-z][\w.#:]{0,127}$/.test(v),
  message: (v) => typeof v === 'string' && v.length <= 1024,
  retryAfterSeconds: (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 86400,
  latencyMs: (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 60_000,
  times: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
};

/** Checks a fault given as JSON; returns what is wrong, or the fault. */
export function parseFault(body: unknown): CognitoFault | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'the body must be a JSON object' };
  }
  for (const [name, value] of Object.entries(body)) {
    const check = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
    if (!check) return { error: `unknown field ${name}` };
    if (!check(value)) return { error: `${name} has an invalid value` };
  }
  const fault = body as CognitoFault;
  if ((fault.status === undefined) !== (fault.type === undefined)) {
    return { error: 'give status and type together' };
  }
  if (fault.type === undefined && (fault.message !== undefined || fault.retryAfterSeconds !== undefined)) {
    return { error: 'message and retryAfterSeconds need status and type' };
  }
  if (fault.type === undefined && fault.latencyMs === undefined) return { error: 'give type or latencyMs' };
  return { ...fault };
}

/** The active faults: a fault for one operation wins over one for every operation. */
export class CognitoFaults {
  #faults: CognitoFault[] = [];

  /** Adds a fault, replacing any fault for the same operation (or the same "every operation" slot). */
  set(fault: CognitoFault): void {
    this.#faults = [...this.#faults.filter((f) => f.op !== fault.op), { ...fault }];
  }

  clear(): void {
    this.#faults = [];
  }

  list(): CognitoFault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** The fault hitting this request, counting it against `times`. */
  take(op: CognitoOperation | undefined): CognitoFault | undefined {
    const fault =
      this.#faults.find((f) => f.op !== undefined && f.op === op) ??
      this.#faults.find((f) => f.op === undefined);
    if (fault?.times !== undefined) {
      fault.times -= 1;
      if (fault.times === 0) this.#faults = this.#faults.filter((f) => f !== fault);
    }
    return fault;
  }
}

/** Counts requests and error answers per operation. */
export class CognitoCounters {
  #counts = CognitoCounters.#empty();

  static #empty(): CognitoCounts {
    const counts = { other: { requests: 0, errors: 0 } } as CognitoCounts;
    for (const op of OPERATIONS) counts[op] = { requests: 0, errors: 0 };
    return counts;
  }

  record(op: CognitoOperation | undefined, status: number): void {
    const entry = this.#counts[op ?? 'other'];
    entry.requests += 1;
    if (status >= 400) entry.errors += 1;
  }

  snapshot(): CognitoCounts {
    return structuredClone(this.#counts);
  }

  reset(): void {
    this.#counts = CognitoCounters.#empty();
  }
}

/**
 * The admin routes, relative to `/admin`:
 * - `POST /admin/faults`, JSON `{op?, status?, type?, message?, retryAfterSeconds?, latencyMs?, times?}`
 *   (e.g. `{"status": 400, "type": "TooManyRequestsException", "message": "Rate exceeded"}`) → 201 with
 *   the fault; a bad body → 400 `{"error": "..."}`.
 * - `GET /admin/faults` → 200 `{"faults": [...]}`; `DELETE /admin/faults` → 204, every fault gone.
 * - `GET /admin/counters` → 200 `{"GetId": {"requests": n, "errors": m}, ..., "other": {...}}`;
 *   `POST /admin/counters/reset` → 204.
 */
export function cognitoAdminRoutes(faults: CognitoFaults, counters: CognitoCounters): Hono {
  const routes = new Hono();
  routes.post('/faults', async (c: Context) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return c.json({ error: 'the body is not valid JSON' }, 400);
    }
    const fault = parseFault(body);
    if ('error' in fault) return c.json(fault, 400);
    faults.set(fault);
    return c.json(fault, 201);
  });
  routes.get('/faults', (c) => c.json({ faults: faults.list() }));
  routes.delete('/faults', (c) => {
    faults.clear();
    return c.body(null, 204);
  });
  routes.get('/counters', (c) => c.json(counters.snapshot()));
  routes.post('/counters/reset', (c) => {
    counters.reset();
    return c.body(null, 204);
  });
  return routes;
}

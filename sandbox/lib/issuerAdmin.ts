// The test-only `/admin` routes of every issuer stand-in (issue 7): mint a correctly signed token with
// any header and claims, publish odd keys. Sandbox only; no real issuer has anything like them.
import { type Context, Hono } from 'hono';
import type { AddKeyOptions, IssuerAlgorithm, OidcIssuer, SignRawOptions } from './oidcIssuer.js';

/** A refused `signRaw`, `addKey` or admin request; `status` is what the admin routes answer. */
export class IssuerRequestError extends Error {
  readonly status: 400 | 404;

  constructor(status: 400 | 404, message: string) {
    super(message);
    this.name = 'IssuerRequestError';
    this.status = status;
  }
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type FieldType = 'string' | 'number' | 'boolean' | 'object';

// A Map, not an object literal: a body member named `__proto__` must not find Object.prototype.
const MINT_FIELDS = new Map<string, FieldType>([
  ['claims', 'object'],
  ['payloadJson', 'string'],
  ['header', 'object'],
  ['headerJson', 'string'],
  ['kid', 'string'],
  ['alg', 'string'],
]);
const KEY_FIELDS = new Map<string, FieldType>([
  ['alg', 'string'],
  ['kid', 'string'],
  ['modulusLength', 'number'],
  ['publish', 'boolean'],
  ['activate', 'boolean'],
  ['jwkFields', 'object'],
]);

/**
 * The request body as a JSON object whose members all have their expected type; an empty body is `{}`.
 * Checked by hand rather than with zod, whose records rebuild objects and drop a `__proto__` member that
 * a hostile claim set needs to keep.
 */
async function readBody(
  c: Context,
  fields: ReadonlyMap<string, FieldType>,
): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let body: unknown = {};
  try {
    if (text.trim() !== '') body = JSON.parse(text);
  } catch {
    throw new IssuerRequestError(400, 'the body is not valid JSON');
  }
  if (!isJsonObject(body)) throw new IssuerRequestError(400, 'the body must be a JSON object');
  for (const [name, value] of Object.entries(body)) {
    const type = fields.get(name);
    if (type === undefined) throw new IssuerRequestError(400, `unknown field ${name}`);
    if (type === 'object' ? !isJsonObject(value) : typeof value !== type) {
      throw new IssuerRequestError(400, `${name} must be a JSON ${type}`);
    }
  }
  return body;
}

/** Runs an admin handler, answering a refused request with its status and `{ error }`. */
const admin =
  (handle: (c: Context) => Promise<Response>) =>
  async (c: Context): Promise<Response> => {
    try {
      return await handle(c);
    } catch (error) {
      if (error instanceof IssuerRequestError) return c.json({ error: error.message }, error.status);
      throw error;
    }
  };

/** The `/admin` routes documented on `createOidcIssuer`, relative to their mount point. */
export function adminRoutes(
  issuer: Pick<OidcIssuer, 'signRaw' | 'addKey'>,
  algorithms: readonly IssuerAlgorithm[],
): Hono {
  const routes = new Hono();
  routes.post(
    '/mint',
    admin(async (c) => c.json({ token: issuer.signRaw((await readBody(c, MINT_FIELDS)) as SignRawOptions) })),
  );
  routes.post(
    '/keys',
    admin(async (c) => {
      const body = (await readBody(c, KEY_FIELDS)) as AddKeyOptions;
      if (body.alg !== undefined && !algorithms.includes(body.alg)) {
        throw new IssuerRequestError(400, `alg must be one of ${algorithms.join(', ')}`);
      }
      return c.json({ kid: await issuer.addKey(body) }, 201);
    }),
  );
  return routes;
}

// The host's HTTP front door: function routes under the route prefix, and the admin endpoint for non-HTTP triggers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppRegistry } from './appRegistry.js';
import type { HostedFunction, HttpFunction } from './bindings.js';
import { runInvocation } from './invoke.js';
import { logLinesWritten } from './logSink.js';
import { type RequestLimits, readBody, refuse } from './requestLimits.js';
import { comparePrecedence, matchRoute } from './routeTemplate.js';
import { fromRpcHttpResponse, httpOutputOf, toRpcHttpTrigger, type WireResponse } from './rpc.js';

/** What the request listener needs from the host. */
export interface HttpFrontOptions {
  app: AppRegistry;
  /** host.json `extensions.http.routePrefix` (no slashes); may be empty. */
  routePrefix: string;
  functions: HostedFunction[];
  /** Runs a timer function now; used by the admin endpoint. */
  runTimer(name: string, reason: string): Promise<void>;
  /** Body cap and minimum data rate; a body over either is refused before any function runs. */
  limits: RequestLimits;
}

const MANUAL_REASON = 'This function was programmatically called via the host APIs.';
const empty = (status: number, headers: [string, string][] = []): WireResponse => ({
  status,
  headers,
  body: Buffer.alloc(0),
});

// The response leaves once the invocation's log lines are written, so a client that reads the log after
// its answer finds them; lines of every invocation finished meanwhile share that write.
async function send(res: ServerResponse, wire: WireResponse): Promise<void> {
  await logLinesWritten();
  try {
    res.statusCode = wire.status;
    for (const [name, value] of wire.headers) res.appendHeader(name, value);
    res.end(wire.body);
  } catch {
    // A header the app set that Node cannot write (e.g. a newline in a value): the host would fail too.
    if (!res.headersSent) {
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.statusCode = 500;
      res.end();
    } else {
      res.destroy();
    }
  }
}

const isJsonContentType = (type: string | undefined): boolean =>
  /^\s*(application\/json|text\/json|application\/[^;\s]+\+json)\s*(;|$)/i.test(type ?? '');

/**
 * `POST /admin/functions/{name}` as FunctionsController.Invoke: body `{"input": "..."}` required
 * (400 otherwise; 415 when not JSON), 404 for an unknown function, else 202 and the run happens in
 * the background. An HTTP-triggered function also gets 202, but cannot run without an HttpRequest;
 * the host's background call fails, and so does ours, with an error logged.
 */
function admin(options: HttpFrontOptions, req: IncomingMessage, name: string, body: Buffer): WireResponse {
  if (req.method !== 'POST') return empty(405, [['allow', 'POST']]);
  if (!isJsonContentType(req.headers['content-type'])) return empty(415);
  let invocation: unknown;
  try {
    invocation = JSON.parse(body.toString('utf8'));
  } catch {
    return empty(400);
  }
  if (typeof invocation !== 'object' || invocation === null || Array.isArray(invocation)) return empty(400);
  const input = (invocation as { input?: unknown }).input;
  if (typeof input === 'object' && input !== null) return empty(400);
  const fn = options.functions.find((f) => f.name.toLowerCase() === name.toLowerCase());
  if (!fn) return empty(404);
  if (fn.kind === 'timer') {
    void options.runTimer(fn.name, MANUAL_REASON).catch(() => {
      // Already logged by the invocation; the caller got its 202 long ago.
    });
  } else {
    options.app.sink({
      level: 'error',
      category: 'system',
      functionName: fn.name,
      message: `The admin endpoint cannot run HTTP-triggered function '${fn.name}': an HttpRequest is required. Call its route instead.`,
    });
  }
  return empty(202);
}

async function invokeHttp(
  options: HttpFrontOptions,
  fn: HttpFunction,
  req: IncomingMessage,
  params: Record<string, string>,
  body: Buffer,
): Promise<WireResponse> {
  const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  // The host forwards a body only when Content-Length is above zero (ToRpcHttp), so a chunked
  // upload without Content-Length arrives empty, as it would in Azure.
  const declared = Number.parseInt(req.headers['content-length'] ?? '0', 10);
  const { data, triggerMetadata } = toRpcHttpTrigger({
    method: req.method ?? 'GET',
    url: `http://${host}${req.url ?? '/'}`,
    rawHeaders: req.rawHeaders,
    body: declared > 0 ? body : undefined,
    params,
  });
  try {
    const response = await runInvocation(options.app, fn.registered, {
      reason: MANUAL_REASON,
      inputData: [{ name: fn.triggerName, data }],
      triggerMetadata,
      traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined,
    });
    return fromRpcHttpResponse(fn.outputName ? httpOutputOf(response, fn.outputName) : undefined);
  } catch {
    // The real host answers a failed invocation with a bare 500: no error text, no stack.
    return empty(500);
  }
}

/** Builds the `node:http` request listener for the app. */
export function createRequestListener(
  options: HttpFrontOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = options.functions
    .filter((f): f is HttpFunction => f.kind === 'http')
    .sort((a, b) => comparePrecedence(a.route, b.route));
  const prefix = options.routePrefix === '' ? '' : `/${options.routePrefix.toLowerCase()}`;

  const handle = async (req: IncomingMessage, body: Buffer): Promise<WireResponse> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const adminMatch = /^\/admin\/functions\/([^/]+)\/?$/i.exec(path);
    if (adminMatch?.[1]) return admin(options, req, decodeURIComponent(adminMatch[1]), body);
    const lower = path.toLowerCase();
    if (prefix !== '' && lower !== prefix && !lower.startsWith(`${prefix}/`)) return empty(404);
    const below = path.slice(prefix.length);
    const method = (req.method ?? 'GET').toUpperCase();
    for (const fn of routes) {
      // The method list is a route constraint in the host (HttpMethodRouteConstraint), so a path that
      // exists only for other methods falls through to 404, not 405.
      if (fn.methods && !fn.methods.includes(method)) continue;
      const params = matchRoute(fn.route, below);
      if (!params) continue;
      if (fn.disabled) return empty(404);
      return invokeHttp(options, fn, req, params, body);
    }
    return empty(404);
  };

  return (req, res) => {
    readBody(req, options.limits)
      .then(async (read) => {
        // Kestrel refuses the body itself (413, or 408 when too slow) before the host converts the request.
        if ('refused' in read) refuse(req, res, read.refused);
        else await send(res, await handle(req, read.body));
      })
      .catch(() => send(res, empty(500)));
  };
}

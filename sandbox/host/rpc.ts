// Converts between the wire and the worker's RPC shapes exactly where the real host does the conversion.
//
// Request side: GrpcMessageConversionExtensions.ToRpcHttp in azure-functions-host, with the capabilities
// the Node worker declares (RawHttpBodyBytes, UseNullableValueDictionaryForHttp, RpcHttpBodyOnly).
// Response side: the host's RawScriptResult + ASP.NET Core cookies. Everything between (RPC to
// `HttpRequest`, handler result to RPC) is the library's own InvocationModel (local-components.md §2).
import type {
  RpcHttpCookie,
  RpcHttpData,
  RpcInvocationResponse,
  RpcNullableString,
  RpcTypedData,
} from './coreTypes.js';

/** The parts of an incoming request the host forwards to the worker. */
export interface IncomingHttp {
  method: string;
  /** `http://<Host header><path and query>`, as the host builds it. */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value... one pair per header line. */
  rawHeaders: string[];
  /** The body; the host sends one only when Content-Length is above zero. */
  body: Buffer | undefined;
  /** Route values from the matched template (absent optionals omitted). */
  params: Record<string, string>;
}

/** What goes back on the socket. */
export interface WireResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function decodeQueryPart(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * ASP.NET Core's query collection: keys compared case-insensitively (first spelling kept), repeated
 * keys joined with `,` (StringValues.ToString), `+` read as a space.
 */
export function parseQuery(search: string): Record<string, string> {
  const values = new Map<string, { key: string; values: string[] }>();
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryPart(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decodeQueryPart(part.slice(eq + 1));
    if (key === '') continue;
    const slot = values.get(key.toLowerCase()) ?? { key, values: [] };
    slot.values.push(value);
    values.set(key.toLowerCase(), slot);
  }
  return Object.fromEntries([...values.values()].map((s) => [s.key, s.values.join(',')]));
}

/** Header names lower-cased; repeated header lines joined with `,` as Kestrel's StringValues does. */
export function collectHeaders(rawHeaders: string[]): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen},${value}`;
  }
  return { ...headers };
}

const nullable = (record: Record<string, string>): Record<string, RpcNullableString> =>
  Object.fromEntries(Object.entries(record).map(([k, value]) => [k, { value }]));

/** Builds the trigger input `{ http: RpcHttpData }` and the trigger metadata the host sends with it. */
export function toRpcHttpTrigger(incoming: IncomingHttp): {
  data: RpcTypedData;
  triggerMetadata: Record<string, RpcTypedData>;
} {
  // The query is what lies between '?' and any '#', as URL.search has it, without parsing the whole URL.
  const [beforeFragment = ''] = incoming.url.split('#', 1);
  const mark = beforeFragment.indexOf('?');
  const query = parseQuery(mark === -1 ? '' : beforeFragment.slice(mark));
  const headers = collectHeaders(incoming.rawHeaders);
  const http: RpcHttpData = {
    method: incoming.method,
    url: incoming.url,
    // With UseNullableValueDictionaryForHttp the plain maps stay empty and the nullable ones carry the data.
    headers: {},
    query: {},
    params: {},
    nullableHeaders: nullable(headers),
    nullableQuery: nullable(query),
    nullableParams: nullable(incoming.params),
  };
  // RawHttpBodyBytes: the body always travels as bytes, whatever its content type.
  if (incoming.body && incoming.body.length > 0) http.body = { bytes: incoming.body };
  // The Node worker declares RpcHttpTriggerMetadataRemoved, so the host leaves out of the trigger metadata
  // the request itself and its `headers` and `query`, which the request carries already
  // (ScriptInvocationContextExtensions.ShouldSkipBindingData in azure-functions-host): route values remain.
  const triggerMetadata: Record<string, RpcTypedData> = {};
  for (const [name, value] of Object.entries(incoming.params)) triggerMetadata[name] = { string: value };
  return { data: { http }, triggerMetadata };
}

/** .NET's Uri.EscapeDataString: everything but RFC 3986 unreserved characters is escaped. */
function escapeDataString(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const sameSiteNames: Partial<Record<string, string>> = { lax: 'lax', strict: 'strict', explicitNone: 'none' };

/**
 * Formats one cookie as ASP.NET Core's ResponseCookies.Append writes it after the host's
 * RpcHttpCookieConverter: value escaped, then expires, max-age, domain, path (default `/`), secure,
 * samesite (only when set explicitly), httponly.
 */
export function formatSetCookie(cookie: RpcHttpCookie): string {
  const parts = [`${escapeDataString(cookie.name ?? '')}=${escapeDataString(cookie.value ?? '')}`];
  const seconds = cookie.expires?.value?.seconds;
  if (typeof seconds === 'number') parts.push(`expires=${new Date(seconds * 1000).toUTCString()}`);
  const maxAge = cookie.maxAge?.value;
  if (typeof maxAge === 'number') parts.push(`max-age=${Math.trunc(maxAge)}`);
  if (cookie.domain?.value != null) parts.push(`domain=${cookie.domain.value}`);
  parts.push(`path=${cookie.path?.value ?? '/'}`);
  if (cookie.secure?.value) parts.push('secure');
  // The library sends 'none' for "not specified" and 'explicitNone' for SameSite=None.
  const sameSite = cookie.sameSite ? sameSiteNames[cookie.sameSite] : undefined;
  if (sameSite) parts.push(`samesite=${sameSite}`);
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}

function bodyBytes(body: RpcTypedData | null | undefined): Buffer {
  if (!body) return Buffer.alloc(0);
  // A view of the worker's bytes, not a copy: nothing writes to them after the invocation.
  if (body.bytes) return Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength);
  if (body.string != null) return Buffer.from(body.string, 'utf8');
  if (body.json != null) return Buffer.from(body.json, 'utf8');
  return Buffer.alloc(0);
}

// Hop-by-hop and framing headers are the server's to write; Node computes Content-Length itself.
const framingHeaders = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/**
 * Turns the http output of an invocation into the wire response. No http value at all is the host's
 * OkResult: 200 with an empty body.
 */
export function fromRpcHttpResponse(value: RpcTypedData | null | undefined): WireResponse {
  const http = value?.http;
  if (!http) return { status: 200, headers: [], body: Buffer.alloc(0) };
  const parsed = Number.parseInt(http.statusCode ?? '', 10);
  const headers: [string, string][] = [];
  for (const [name, headerValue] of Object.entries(http.headers ?? {})) {
    if (!framingHeaders.has(name.toLowerCase())) headers.push([name, headerValue]);
  }
  for (const cookie of http.cookies ?? []) headers.push(['set-cookie', formatSetCookie(cookie)]);
  return { status: Number.isFinite(parsed) ? parsed : 200, headers, body: bodyBytes(http.body) };
}

/** Picks the http output of a response: `$return` when bound, else the first named http output with data. */
export function httpOutputOf(
  response: RpcInvocationResponse,
  outputName: string,
): RpcTypedData | null | undefined {
  if (outputName === '$return') return response.returnValue;
  return response.outputData?.find((o) => o.name === outputName)?.data;
}

/** ScheduleStatus as the timer extension keeps it (ISO strings here). */
export interface ScheduleStatus {
  last: Date | undefined;
  next: Date;
  lastUpdated: Date;
}

/**
 * The TimerInfo the host serialises for the worker (Newtonsoft, PascalCase); the library camel-cases it
 * into `{ schedule: { adjustForDST }, scheduleStatus, isPastDue }`.
 */
export function toRpcTimer(status: ScheduleStatus | undefined, isPastDue: boolean): RpcTypedData {
  const scheduleStatus = status
    ? {
        // DateTime.MinValue when there is no previous occurrence yet.
        Last: status.last ? status.last.toISOString() : '0001-01-01T00:00:00',
        Next: status.next.toISOString(),
        LastUpdated: status.lastUpdated.toISOString(),
      }
    : null;
  return {
    json: JSON.stringify({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: scheduleStatus,
      IsPastDue: isPastDue,
    }),
  };
}

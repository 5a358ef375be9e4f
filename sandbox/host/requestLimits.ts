// Kestrel's request-abuse limits, as the Functions host runs it, enforced before a request reaches the app.
//
// Sources (sandbox/host/README.md, "Limits", has the full list): Kestrel defaults from
// dotnet/aspnetcore src/Servers/Kestrel/Core/src/KestrelServerLimits.cs; the status codes from
// KestrelBadHttpRequestException.GetException; the body cap from Azure/azure-functions-host
// src/WebJobs.Script.WebHost/Program.cs (`o.Limits.MaxRequestBodySize = ScriptConstants.DefaultMaxRequestBodySize`).
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';

/** The limits the local host enforces; every field has the real host's value by default. */
export interface RequestLimits {
  /** Request line (method, target, version and CRLF), in bytes; over it: 414. Kestrel MaxRequestLineSize. */
  maxRequestLineBytes: number;
  /** Header lines (each with its CRLF), in bytes; over it: 431. Kestrel MaxRequestHeadersTotalSize. */
  maxRequestHeadersTotalBytes: number;
  /** Header lines; more than this: 431. Kestrel MaxRequestHeaderCount. */
  maxRequestHeaderCount: number;
  /** Body, in bytes; over it: 413. The Functions host's MaxRequestBodySize. */
  maxRequestBodyBytes: number;
  /** Time allowed to receive the request line and headers, in ms; over it: 408. Kestrel RequestHeadersTimeout. */
  requestHeadersTimeoutMs: number;
  /** Average body rate required once the grace period is over, in bytes/s (0 disables); under it: 408. */
  minRequestBodyBytesPerSecond: number;
  /** Time a body may stay under the minimum rate before it is refused, in ms. Kestrel MinRequestBodyDataRate. */
  minRequestBodyGracePeriodMs: number;
  /** Idle time allowed between requests on a kept-alive connection, in ms. Kestrel KeepAliveTimeout. */
  keepAliveTimeoutMs: number;
}

/** The real host's values: Kestrel's defaults, with the body cap the Functions host sets. */
export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  // KestrelServerLimits: `_maxRequestLineSize = 8 * 1024` ("Matches the default large_client_header_buffers in nginx").
  maxRequestLineBytes: 8_192,
  // KestrelServerLimits: `_maxRequestHeadersTotalSize = 32 * 1024`.
  maxRequestHeadersTotalBytes: 32_768,
  // KestrelServerLimits: `_maxRequestHeaderCount = 100` ("Matches the default LimitRequestFields in Apache httpd").
  maxRequestHeaderCount: 100,
  // ScriptConstants.DefaultMaxRequestBodySize = 104857600, set on Kestrel in the host's Program.cs
  // (Kestrel's own default is 30,000,000). FUNCTIONS_REQUEST_BODY_SIZE_LIMIT can change it in Azure.
  maxRequestBodyBytes: 104_857_600,
  // KestrelServerLimits: `_requestHeadersTimeout = TimeSpan.FromSeconds(30)`.
  requestHeadersTimeoutMs: 30_000,
  // KestrelServerLimits: `new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5))`
  // ("Matches the default IIS minBytesPerSecond").
  minRequestBodyBytesPerSecond: 240,
  minRequestBodyGracePeriodMs: 5_000,
  // KestrelServerLimits (.NET 5+): `_keepAliveTimeout = TimeSpan.FromSeconds(130)`, "slightly more than
  // SocketHttpHandler's old PooledConnectionIdleTimeout" (dotnet/runtime#52267); learn.microsoft.com says 130 s.
  keepAliveTimeoutMs: 130_000,
});

// Kestrel checks its timeouts on a 1 s heartbeat (Heartbeat.Interval = TimeSpan.FromSeconds(1)).
const HEARTBEAT_MS = 1_000;

/** Fills in the real host's values and rejects anything that is not a usable number. */
export function resolveRequestLimits(overrides: Partial<RequestLimits> = {}): RequestLimits {
  const limits: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    // Only the rate may be 0 (Kestrel enforces it only when BytesPerSecond > 0).
    const floor = name === 'minRequestBodyBytesPerSecond' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < floor) {
      throw new Error(`limits.${name} must be an integer >= ${floor}, got ${String(value)}`);
    }
  }
  return limits;
}

const latin1Bytes = (text: string): number => Buffer.byteLength(text, 'latin1');

/**
 * The status Kestrel would refuse this request head with, or undefined when it is within limits.
 * Node has already parsed it, so sizes are rebuilt from what it kept: `METHOD SP target SP HTTP/x.y CRLF`
 * and `name: value CRLF` per header line. Kestrel counts the bytes as received, so a head sent with
 * unusual whitespace is measured a few bytes differently here.
 */
export function headRefusal(req: IncomingMessage, limits: RequestLimits): number | undefined {
  // Http1Connection.TakeStartLine: the line and its CRLF must fit in MaxRequestLineSize, else 414.
  const requestLine =
    latin1Bytes(req.method ?? '') + 1 + latin1Bytes(req.url ?? '') + 1 + `HTTP/${req.httpVersion}\r\n`.length;
  if (requestLine > limits.maxRequestLineBytes) return 414;
  // Http1Connection allows MaxRequestHeadersTotalSize + 2 bytes for the header lines and the empty
  // line that ends them, else 431 (HeadersExceedMaxTotalSize).
  let headerBytes = 0;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headerBytes += latin1Bytes(req.rawHeaders[i] ?? '') + 2 + latin1Bytes(req.rawHeaders[i + 1] ?? '') + 2;
  }
  if (headerBytes > limits.maxRequestHeadersTotalBytes) return 431;
  // HttpProtocol.OnHeader: `_requestHeadersParsed > MaxRequestHeaderCount` throws TooManyHeaders (431).
  // Node only stops recording lines past server.maxHeadersCount, so the count is checked here.
  if (req.rawHeaders.length / 2 > limits.maxRequestHeaderCount) return 431;
  return undefined;
}

/**
 * Answers a refused request with an empty body and `Connection: close`, then destroys the socket
 * once the answer is flushed, so a slow client cannot keep the connection. Kestrel does the same:
 * SetBadRequestState writes the error status and disables keep-alive.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  const socket = req.socket;
  req.pause();
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  res.writeHead(status, { 'content-length': '0', connection: 'close' });
  res.end(() => socket.destroy());
}

/** A body read to the end, or the status it was refused with. */
export type BodyReadResult = { body: Buffer } | { refused: number };

/** A body being read: what the heartbeat needs to check its rate. */
interface BodyRead {
  startedAt: number;
  received: number;
  limits: RequestLimits;
  settle(result: BodyReadResult): void;
}

/**
 * The bodies being read, checked together on one heartbeat, as Kestrel checks every connection on its
 * one heartbeat: a timer per request was a measurable share of the host's time per invocation
 * (bench/README.md). The timer runs while bodies are being read and stops at the first tick without any.
 */
const reading = new Set<BodyRead>();
let heartbeat: NodeJS.Timeout | undefined;

function checkRates(): void {
  if (reading.size === 0) {
    clearInterval(heartbeat);
    heartbeat = undefined;
    return;
  }
  const now = performance.now();
  for (const read of reading) {
    const elapsedMs = now - read.startedAt;
    const { minRequestBodyBytesPerSecond: minRate, minRequestBodyGracePeriodMs: graceMs } = read.limits;
    if (minRate === 0 || elapsedMs <= graceMs) continue;
    // KestrelBadHttpRequestException: RequestBodyTimeout is 408.
    if (read.received / (elapsedMs / 1_000) < minRate) read.settle({ refused: 408 });
  }
}

/**
 * Reads the whole body under the body-size cap and the minimum data rate. The rate is Kestrel's
 * (TimeoutControl.CheckForReadDataRateTimeout): checked on each heartbeat once the grace period is
 * over, as the bytes received so far divided by the time since reading began. The Functions host
 * reads the body as soon as it converts the request for the worker, so reading begins here at once.
 * UNCONFIRMED: that read happens inside the invocation (GrpcMessageConversionExtensions.PopulateBody),
 * and the host's ExceptionMiddleware turns unhandled exceptions into 500, so Azure may answer a too
 * slow or too large body with 500 where Kestrel alone answers 408 or 413; the worker sees neither.
 */
export function readBody(req: IncomingMessage, limits: RequestLimits): Promise<BodyReadResult> {
  // Http1ContentLengthMessageBody refuses a declared length over the cap before reading (413).
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limits.maxRequestBodyBytes) return Promise.resolve({ refused: 413 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const read: BodyRead = {
      startedAt: performance.now(),
      received: 0,
      limits,
      settle(result) {
        if (settled) return;
        settled = true;
        reading.delete(read);
        resolve(result);
      },
    };
    reading.add(read);
    if (!heartbeat) {
      heartbeat = setInterval(checkRates, HEARTBEAT_MS);
      heartbeat.unref();
    }
    req.on('data', (chunk: Buffer) => {
      read.received += chunk.length;
      // Http1MessageBody.OnObservedBytesExceedMaxRequestBodySize: 413, and keep-alive is disabled.
      if (read.received > limits.maxRequestBodyBytes) read.settle({ refused: 413 });
      else if (!settled) chunks.push(chunk);
    });
    // A body that came in one chunk (most do) is that chunk, not a copy of it.
    req.on('end', () =>
      read.settle({ body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }),
    );
    // A client that disconnects mid-body: Kestrel's UnexpectedEndOfRequestContent is a 400, though
    // nobody is left to read it.
    req.on('error', () => read.settle({ refused: 400 }));
    req.on('close', () => read.settle({ refused: 400 }));
  });
}

/**
 * Creates the host's HTTP server with the limits applied: Node enforces the headers timeout,
 * keep-alive and an overall head-size ceiling itself; `headRefusal` applies Kestrel's finer limits
 * before `listener` sees the request.
 */
export function createLimitedServer(limits: RequestLimits, listener: RequestListener): http.Server {
  const server = http.createServer(
    {
      // Node starts this clock when the connection opens; Kestrel when the first byte of a request
      // arrives (an idle connection before that falls under KeepAliveTimeout and is closed silently).
      headersTimeout: limits.requestHeadersTimeoutMs,
      // Kestrel has no whole-request timeout (the RequestTimeouts middleware is opt-in and the
      // Functions host does not use it); slow bodies are bounded by the minimum data rate instead.
      requestTimeout: 0,
      // Node checks headersTimeout on this interval (30 s by default); Kestrel's heartbeat is 1 s.
      connectionsCheckingInterval: HEARTBEAT_MS,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node counts only the target and header names and values against maxHeaderSize, and answers
      // 431 over it. Anything within Kestrel's two limits is under this ceiling; headRefusal does the rest.
      maxHeaderSize: limits.maxRequestLineBytes + limits.maxRequestHeadersTotalBytes,
      // The strict parser refuses Transfer-Encoding with Content-Length (400, connection closed).
      // Kestrel instead frames by chunked and moves Content-Length to X-Content-Length
      // (Http1MessageBody.For, dotnet/aspnetcore#43558), and closes after the response since
      // dotnet/aspnetcore#66671 (which release the Functions host runs: UNCONFIRMED). Either way the
      // bytes after the chunked body never become a second request.
      insecureHTTPParser: false,
    },
    (req, res) => {
      const status = headRefusal(req, limits);
      if (status !== undefined) refuse(req, res, status);
      else listener(req, res);
    },
  );
  // One line more than the limit is enough to see it was exceeded.
  server.maxHeadersCount = limits.maxRequestHeaderCount + 1;
  return server;
}

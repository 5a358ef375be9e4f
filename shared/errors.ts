// The broker's one error type and the one function that turns anything thrown into the wire format
// of RFC 6749 §5.2 / RFC 8693 §2.2.2. Shape follows oidc-provider: `expose = status < 500`.

/** OAuth error codes the broker returns (RFC 6749 §5.2, RFC 8693 §2.2.2). */
export type BrokerErrorCode =
  | 'invalid_request'
  | 'unsupported_grant_type'
  | 'invalid_grant'
  | 'access_denied'
  | 'invalid_target'
  | 'invalid_scope'
  | 'temporarily_unavailable'
  | 'server_error';

export interface BrokerErrorOptions extends ErrorOptions {
  /** Seconds a caller should wait before retrying; sent as `Retry-After` on 429 and 503. */
  retryAfterSeconds?: number;
  /** Internal detail for the audit line (e.g. an AADSTS code); never sent to the caller. */
  detail?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * An error whose `description` is safe to show the caller. `description` must never hold a token,
 * an assertion, an upstream body or a URL with a query string; put internals in `cause`/`detail`.
 */
export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  readonly status: number;
  readonly description: string;
  readonly retryAfterSeconds: number | undefined;
  readonly detail: Readonly<Record<string, string | number | boolean>>;

  constructor(code: BrokerErrorCode, status: number, description: string, options: BrokerErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.status = status;
    this.description = description;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.detail = options.detail ?? {};
  }

  /** Whether the description goes to the caller as is (4xx) or is replaced (5xx server faults). */
  get expose(): boolean {
    return this.status < 500 || this.code === 'temporarily_unavailable';
  }
}

export interface WireError {
  status: number;
  headers: Record<string, string>;
  body: { error: BrokerErrorCode; error_description: string };
}

/** RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E. */
export function toDescriptionCharacters(text: string): string {
  return text
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x7e]/g, '?');
}

const SERVER_ERROR_DESCRIPTION = 'The broker failed to process the request; the failure has been logged.';

/** Maps anything thrown to the contract's error response; unknown errors become a fixed 500. */
export function toWireError(error: unknown): WireError {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json;charset=UTF-8',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  };
  if (error instanceof BrokerError && error.expose) {
    if (error.retryAfterSeconds !== undefined)
      headers['Retry-After'] = String(Math.ceil(error.retryAfterSeconds));
    return {
      status: error.status,
      headers,
      body: { error: error.code, error_description: toDescriptionCharacters(error.description) },
    };
  }
  return {
    status: 500,
    headers,
    body: { error: 'server_error', error_description: SERVER_ERROR_DESCRIPTION },
  };
}

/** What of a library's failure may be kept as a cause (see errorKind). */
export interface ErrorKind {
  name: string;
  code?: string;
  statusCode?: number;
  requestId?: string;
}

/**
 * A library's failure reduced to what may be kept as a `cause`: its name, code, HTTP status and a
 * service's request id, each only when plain. Never its message or the rest of it: an AWS SDK error can
 * hold an answer it could not parse whole, an Azure `RestError` the request it failed on (body and
 * Authorization header), a jose claim error the caller's decoded claims.
 */
export function errorKind(error: unknown): ErrorKind {
  const found = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    statusCode?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  };
  const kind: ErrorKind = {
    name: error instanceof Error && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : 'Error',
  };
  if (typeof found.code === 'string' && /^[\w.-]{1,64}$/.test(found.code)) kind.code = found.code;
  const status = found.statusCode ?? found.$metadata?.httpStatusCode;
  if (typeof status === 'number') kind.statusCode = status;
  const requestId = found.$metadata?.requestId;
  if (typeof requestId === 'string' && /^[\w-]{1,128}$/.test(requestId)) kind.requestId = requestId;
  return kind;
}

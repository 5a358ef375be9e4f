// POST /api/token apart from any host: the body's checks (content type, charset, size, UTF-8), the
// exchange, and the answer in the contract's shape. functions/token.ts adapts the Functions host's
// HttpRequest to it; the benchmark's bare adapter (bench/servers.ts) calls it from node:http directly.
import { builtBroker, getBroker } from '../broker.js';
import { BrokerError, toWireError } from '../errors.js';
import { type LogTarget, reportFailure } from '../log.js';
import { exchangeToken } from './exchangeToken.js';
import { TOKEN_REQUEST_LIMITS } from './tokenRequest.js';

export interface TokenHttpRequest {
  contentType: string | null;
  contentLength: string | null;
  /** Reads the body; called only after the declared length was checked. */
  body(): Promise<ArrayBuffer | Uint8Array>;
}

export interface TokenHttpResponse {
  status: number;
  /** Content-Type included. */
  headers: Record<string, string>;
  /** The JSON text of the answer. */
  body: string;
}

const GRANTED_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Content-Type': 'application/json',
};

/** Runs the exchange for one request and maps the grant or the refusal to the wire. */
export async function handleTokenRequest(
  request: TokenHttpRequest,
  log: LogTarget,
): Promise<TokenHttpResponse> {
  try {
    const body = await readBody(request);
    const broker = builtBroker() ?? (await getBroker(log));
    const granted = await exchangeToken(broker.exchange, body, log);
    return { status: 200, headers: GRANTED_HEADERS, body: granted.json };
  } catch (error) {
    reportFailure(log, 'token', error);
    const wire = toWireError(error);
    return { status: wire.status, headers: wire.headers, body: JSON.stringify(wire.body) };
  }
}

const invalid = (description: string) => new BrokerError('invalid_request', 400, description);
const FORM = 'application/x-www-form-urlencoded';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A form, in UTF-8 if a charset is named. */
function checkContentType(contentType: string | null): void {
  if (contentType === FORM) return; // What nearly every caller sends, taken without splitting it.
  const [type, ...parameters] = (contentType ?? '').split(';');
  if (type?.trim().toLowerCase() !== FORM) throw invalid(`The request body must be ${FORM}.`);
  const charset = parameters.find((p) => p.trim().toLowerCase().startsWith('charset='));
  if (charset !== undefined && !/^\s*charset=("?)utf-8\1\s*$/i.test(charset)) {
    throw invalid('The request body must be encoded in UTF-8.');
  }
}

/** The form body as text: form-encoded, UTF-8, and within the size limit, checked before decoding. */
async function readBody(request: TokenHttpRequest): Promise<string> {
  checkContentType(request.contentType);
  if (Number(request.contentLength ?? 0) > TOKEN_REQUEST_LIMITS.bodyBytes)
    throw invalid('The request body is too large.');
  const bytes = await request.body();
  if (bytes.byteLength > TOKEN_REQUEST_LIMITS.bodyBytes) throw invalid('The request body is too large.');
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid('The request body must be encoded in UTF-8.');
  }
}

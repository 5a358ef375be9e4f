// POST /api/token: the RFC 8693 token exchange of the public contract (broker.md).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker.js';
import { BrokerError, toWireError } from '../shared/errors.js';
import { exchangeToken } from '../shared/exchange/exchangeToken.js';
import { TOKEN_REQUEST_LIMITS } from '../shared/exchange/tokenRequest.js';
import { reportFailure } from '../shared/log.js';

/** Reads the body, runs the exchange, and maps the result or the refusal to the wire. */
export async function token(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request);
    const broker = await getBroker(context);
    const granted = await exchangeToken(broker.exchange, body, context);
    return { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, jsonBody: granted };
  } catch (error) {
    reportFailure(context, 'token', error);
    const wire = toWireError(error);
    return { status: wire.status, headers: wire.headers, jsonBody: wire.body };
  }
}

const invalid = (description: string) => new BrokerError('invalid_request', 400, description);

/** The form body as text: form-encoded, UTF-8, and within the size limit, checked before decoding. */
async function readBody(request: HttpRequest): Promise<string> {
  const [type, ...parameters] = (request.headers.get('content-type') ?? '').split(';');
  if (type?.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw invalid('The request body must be application/x-www-form-urlencoded.');
  }
  const charset = parameters.find((p) => p.trim().toLowerCase().startsWith('charset='));
  if (charset !== undefined && !/^\s*charset=("?)utf-8\1\s*$/i.test(charset)) {
    throw invalid('The request body must be encoded in UTF-8.');
  }
  if (Number(request.headers.get('content-length') ?? 0) > TOKEN_REQUEST_LIMITS.bodyBytes)
    throw invalid('The request body is too large.');
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > TOKEN_REQUEST_LIMITS.bodyBytes) throw invalid('The request body is too large.');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('The request body must be encoded in UTF-8.');
  }
}

app.http('token', { route: 'token', methods: ['POST'], authLevel: 'anonymous', handler: token });

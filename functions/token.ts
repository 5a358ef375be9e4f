// POST /api/token: the RFC 8693 token exchange of the public contract (broker.md).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker.js';
import { BrokerError, toWireError } from '../shared/errors.js';
import { exchangeToken } from '../shared/exchange/exchangeToken.js';
import { reportFailure } from '../shared/log.js';

/** Largest request body accepted, in bytes: a form with one capped token fits easily. */
const MAX_BODY_BYTES = 65_536;

/** Parses the form, runs the exchange, and maps the result or the refusal to the wire. */
export async function token(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const form = await readForm(request);
    const broker = await getBroker();
    const body = await exchangeToken(broker.exchange, form, context);
    return { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, jsonBody: body };
  } catch (error) {
    reportFailure(context, 'token', error);
    const wire = toWireError(error);
    return { status: wire.status, headers: wire.headers, jsonBody: wire.body };
  }
}

async function readForm(request: HttpRequest): Promise<URLSearchParams> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new BrokerError(
      'invalid_request',
      400,
      'The request body must be application/x-www-form-urlencoded.',
    );
  }
  const length = Number(request.headers.get('content-length') ?? 0);
  if (length > MAX_BODY_BYTES)
    throw new BrokerError('invalid_request', 400, 'The request body is too large.');
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new BrokerError('invalid_request', 400, 'The request body is too large.');
  }
  return new URLSearchParams(text);
}

app.http('token', { route: 'token', methods: ['POST'], authLevel: 'anonymous', handler: token });

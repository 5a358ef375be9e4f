// POST /api/token: the RFC 8693 token exchange of the public contract (broker.md), on the Functions host.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleTokenRequest } from '../shared/exchange/tokenEndpoint.js';

/** Adapts the host's request to the broker's token endpoint (shared/exchange/tokenEndpoint.ts). */
export function token(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleTokenRequest(
    {
      contentType: request.headers.get('content-type'),
      contentLength: request.headers.get('content-length'),
      body: () => request.arrayBuffer(),
    },
    context,
  );
}

app.http('token', { route: 'token', methods: ['POST'], authLevel: 'anonymous', handler: token });

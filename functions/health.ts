// GET /api/health: liveness. Answers as long as the worker can run a handler; touches no peer.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { logEvent } from '../shared/log.js';

/** Always 200 while the process is alive; readiness (config, policy, sources) is /api/ready. */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  logEvent(context, 'info', 'health.checked', { status: 'ok' });
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    jsonBody: { status: 'ok' },
  };
}

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });

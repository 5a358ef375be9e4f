// /api/health answers 200 without touching any peer.
import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { health } from '../../functions/health.js';

describe('GET /api/health', () => {
  it('answers 200 {status: ok}, uncached, and logs one allow-listed line', async () => {
    const lines: unknown[][] = [];
    const context = new InvocationContext({
      functionName: 'health',
      logHandler: (_level, ...args) => lines.push(args),
    });

    const response = await health(
      new HttpRequest({ method: 'GET', url: 'http://127.0.0.1/api/health' }),
      context,
    );

    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual({ status: 'ok' });
    expect(response.headers).toEqual({ 'Cache-Control': 'no-store' });
    expect(lines).toEqual([['{"event":"health.checked","status":"ok"}']]);
  });
});

// POST /api/token handler: request-level refusals before the broker runs, and a misconfigured
// broker answering a fixed 500 while logging only what is wrong.
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { ready } from '../../functions/health.js';
import { token } from '../../functions/token.js';

const lines: string[] = [];
const context = () =>
  new InvocationContext({
    functionName: 'token',
    logHandler: (_level, ...args) => lines.push(args.join(' ')),
  });
const post = (body: string, headers: Record<string, string>) =>
  new HttpRequest({ method: 'POST', url: 'http://127.0.0.1/api/token', headers, body: { string: body } });

afterEach(() => {
  lines.length = 0;
});

describe('POST /api/token', () => {
  it('refuses a JSON body with invalid_request and no-store', async () => {
    const response = await token(
      post('{"grant_type":"x"}', { 'content-type': 'application/json' }),
      context(),
    );

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body as string)).toEqual({
      error: 'invalid_request',
      error_description: 'The request body must be application/x-www-form-urlencoded.',
    });
    expect(response.headers).toMatchObject({
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json;charset=UTF-8',
    });
  });

  it('refuses a body over 64 KiB', async () => {
    const response = await token(
      post(`subject_token=${'a'.repeat(70_000)}`, { 'content-type': 'application/x-www-form-urlencoded' }),
      context(),
    );

    expect(JSON.parse(response.body as string)).toEqual({
      error: 'invalid_request',
      error_description: 'The request body is too large.',
    });
  });

  it('answers a fixed 500 when the broker is misconfigured, logging the variable but not the request', async () => {
    const secret = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2VjcmV0';
    delete process.env.BROKER_AUDIENCE;
    const response = await token(
      post(`subject_token=${secret}`, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }),
      context(),
    );

    expect(response.status).toBe(500);
    expect(JSON.parse(response.body as string)).toEqual({
      error: 'server_error',
      error_description: 'The broker failed to process the request; the failure has been logged.',
    });
    expect(lines.join('\n')).toContain('BROKER_AUDIENCE is required');
    expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('GET /api/ready', () => {
  it('is 503 with a code while the broker is not configured, naming the variables only in the log', async () => {
    delete process.env.BROKER_AUDIENCE;
    delete process.env.BROKER_POLICY_FILE;

    const response = await ready(
      new HttpRequest({ method: 'GET', url: 'http://127.0.0.1/api/ready' }),
      context(),
    );

    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      status: 'not_ready',
      problems: ['config_invalid'],
      sources: {},
      sharedCache: 'off',
    });
    expect(lines.join('\n')).toContain('BROKER_AUDIENCE is required');
    expect(lines.join('\n')).toContain('BROKER_POLICY_FILE is required');
  });
});

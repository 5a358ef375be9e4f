// The local host serves HTTP functions over real sockets with the Functions host's routing and conversions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureEnv, headerLines, rawRequest, type StartedHost, startFixture } from './hostHarness.js';

let started: StartedHost;
let api: string;

beforeAll(async () => {
  started = await startFixture('host-app', { env: fixtureEnv, timers: false });
  api = `${started.host.url}/api`;
});

afterAll(async () => {
  await started.host.close();
});

interface Echo {
  method: string;
  url: string;
  params: Record<string, string>;
  query: Record<string, string>;
  multi: string | null;
  contentType: string | null;
  body: unknown;
  functionName: string;
  invocationId: string;
}

const echo = async (response: Response): Promise<Echo> => {
  expect(response.status).toBe(200);
  return (await response.json()) as Echo;
};

describe('routing', () => {
  it('passes route parameters, the query and the full url to the handler', async () => {
    const got = await echo(await fetch(`${api}/echo/42/alice?x=1&x=2&y=a+b`));

    expect(got.params).toEqual({ id: '42', name: 'alice' });
    // The host joins repeated query keys with a comma (ASP.NET StringValues) and reads `+` as a space.
    expect(got.query).toEqual({ x: '1,2', y: 'a b' });
    expect(got.url).toBe(`${api}/echo/42/alice?x=1&x=2&y=a+b`);
    expect(got.method).toBe('GET');
    expect(got.functionName).toBe('echo');
    expect(got.invocationId).toMatch(/^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
  });

  it('leaves an absent optional parameter out, matches case-insensitively and ignores a trailing slash', async () => {
    const got = await echo(await fetch(`${api}/ECHO/7/`));

    expect(got.params).toEqual({ id: '7' });
  });

  it('gives each invocation a fresh invocation id', async () => {
    const first = await echo(await fetch(`${api}/echo/1`));
    const second = await echo(await fetch(`${api}/echo/1`));

    expect(first.invocationId).not.toBe(second.invocationId);
  });

  it('applies route constraints: int, guid and alpha', async () => {
    const notInt = await fetch(`${api}/echo/abc`);
    const guid = await fetch(`${api}/things/0f8fad5b-d9cb-469f-a165-70867728950e`);
    const alpha = await fetch(`${api}/things/widget`);
    const neither = await fetch(`${api}/things/abc123`);

    expect(notInt.status).toBe(404);
    expect(await guid.text()).toBe('guid 0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(await alpha.text()).toBe('alpha widget');
    expect(neither.status).toBe(404);
  });

  it('uses the function name as the default route', async () => {
    const response = await fetch(`${api}/items`);

    expect(response.status).toBe(201);
  });

  it('answers 404 for a method the function does not accept, as the host route constraint does', async () => {
    const wrongMethod = await fetch(`${api}/echo/1`, { method: 'DELETE' });
    const put = await fetch(`${api}/echo/1`, { method: 'PUT', body: 'x' });
    const deleteElsewhere = await fetch(`${api}/things/5`, { method: 'DELETE' });

    expect(wrongMethod.status).toBe(404);
    expect(put.status).toBe(200);
    expect(deleteElsewhere.status).toBe(204);
  });

  it('answers 404 outside the route prefix and for unknown routes', async () => {
    expect((await fetch(`${started.host.url}/echo/1`)).status).toBe(404);
    expect((await fetch(`${api}/nope`)).status).toBe(404);
  });
});

describe('request conversion', () => {
  it('joins repeated header lines with a comma', async () => {
    const response = await rawRequest(`${api}/echo/1`, { headers: ['X-Multi', 'a', 'x-multi', 'b'] });

    expect(JSON.parse(response.body.toString()).multi).toBe('a,b');
  });

  it('passes a text body', async () => {
    const got = await echo(
      await fetch(`${api}/echo/1?as=text`, {
        method: 'POST',
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      }),
    );

    expect(got.body).toBe('hello');
    expect(got.contentType).toBe('text/plain');
  });

  it('passes a JSON body', async () => {
    const got = await echo(
      await fetch(`${api}/echo/1?as=json`, {
        method: 'POST',
        body: JSON.stringify({ k: [1, 2] }),
        headers: { 'content-type': 'application/json' },
      }),
    );

    expect(got.body).toEqual({ k: [1, 2] });
  });

  it('passes a form-urlencoded body', async () => {
    const got = await echo(
      await fetch(`${api}/echo/1?as=form`, {
        method: 'POST',
        body: new URLSearchParams({ a: '1', b: 'x y' }),
      }),
    );

    expect(got.body).toEqual({ a: '1', b: 'x y' });
    expect(got.contentType).toBe('application/x-www-form-urlencoded;charset=UTF-8');
  });

  it('drops a body sent without Content-Length (chunked), as the host forwards bodies only when it is set', async () => {
    const response = await rawRequest(`${api}/echo/1?as=text`, {
      method: 'POST',
      headers: ['Transfer-Encoding', 'chunked', 'Content-Type', 'text/plain'],
      body: 'streamed',
    });

    expect(JSON.parse(response.body.toString()).body).toBe('');
  });

  it('passes a binary body byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 127, 128, 254, 255, 0x0d, 0x0a]);
    const got = await echo(
      await fetch(`${api}/echo/1?as=bytes`, {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      }),
    );

    expect(Buffer.from(got.body as string, 'base64')).toEqual(bytes);
  });
});

describe('response conversion', () => {
  it('writes status, headers and every cookie as its own Set-Cookie line', async () => {
    const response = await rawRequest(`${api}/items`);

    expect(response.status).toBe(201);
    expect(response.body.toString()).toBe('created');
    expect(response.headers['x-custom']).toBe('yes');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(headerLines(response, 'set-cookie')).toEqual([
      'session=a%20b; max-age=60; path=/; secure; samesite=strict; httponly',
      'theme=dark; path=/api; samesite=none',
    ]);
  });

  it('writes a binary body unchanged', async () => {
    const response = await rawRequest(`${api}/bytes`);

    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.body).toEqual(Buffer.from([0, 1, 2, 253, 254, 255]));
  });

  it('answers 200 with an empty body when the handler returns nothing', async () => {
    const response = await rawRequest(`${api}/nothing`);

    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
  });
});

describe('failures and logs', () => {
  it('answers a throwing handler with a bare 500 and logs the error with the function name', async () => {
    const response = await rawRequest(`${api}/boom`);

    expect(response.status).toBe(500);
    expect(response.body.length).toBe(0);
    expect(JSON.stringify(response.headers)).not.toContain('secret-db-password-42');
    const failure = started.logs.find((l) => l.functionName === 'boom' && l.level === 'error');
    expect(failure?.message).toContain("Executed 'Functions.boom' (Failed");
    expect(failure?.message).toContain('kaboom secret-db-password-42');
  });

  it('answers a handler rejecting with a non-Error with a bare 500 too', async () => {
    const response = await rawRequest(`${api}/rejectString`);

    expect(response.status).toBe(500);
    expect(response.body.toString()).not.toContain('secret-xyz');
    expect(started.logs.some((l) => l.functionName === 'rejectString' && l.level === 'error')).toBe(true);
  });

  it("sends the handler's context.log lines to the sink with the function name and level", async () => {
    const got = await echo(await fetch(`${api}/echo/99`));

    expect(started.logs).toContainEqual({
      level: 'information',
      category: 'user',
      message: 'echo called for 99',
      functionName: 'echo',
      invocationId: got.invocationId,
    });
  });
});

describe('route prefix from host.json', () => {
  it('serves under the configured prefix, with files found through the main glob', async () => {
    const prefixed = await startFixture('host-app-prefix');
    try {
      const ping = await fetch(`${prefixed.host.url}/v1/ping`);
      const info = await fetch(`${prefixed.host.url}/v1/info`);
      const underApi = await fetch(`${prefixed.host.url}/api/ping`);

      expect(await ping.text()).toBe('pong');
      expect(await info.text()).toBe('info at /v1/info');
      expect(underApi.status).toBe(404);
      expect(prefixed.host.routePrefix).toBe('v1');
    } finally {
      await prefixed.host.close();
    }
  });
});

// The host-side RPC conversions: query and header collections, cookies, the Timer payload.
import { describe, expect, it } from 'vitest';
import {
  collectHeaders,
  formatSetCookie,
  fromRpcHttpResponse,
  parseQuery,
  toRpcHttpTrigger,
  toRpcTimer,
} from '../../../sandbox/host/rpc.js';

describe('toRpcHttpTrigger', () => {
  it('fills the nullable maps and sends the body as bytes, as the Node worker asks the host to', () => {
    const { data, triggerMetadata } = toRpcHttpTrigger({
      method: 'POST',
      url: 'http://127.0.0.1:7071/api/x/1?a=1&A=2&empty=',
      rawHeaders: ['Content-Type', 'application/json', 'X-Dup', '1', 'x-dup', '2'],
      body: Buffer.from('{"k":1}'),
      params: { id: '1' },
    });

    expect(data.http?.nullableQuery).toEqual({ a: { value: '1,2' }, empty: { value: '' } });
    expect(data.http?.nullableHeaders).toEqual({
      'content-type': { value: 'application/json' },
      'x-dup': { value: '1,2' },
    });
    expect(data.http?.nullableParams).toEqual({ id: { value: '1' } });
    expect(Buffer.from(data.http?.body?.bytes ?? []).toString()).toBe('{"k":1}');
    expect(data.http?.headers).toEqual({});
    // RpcHttpTriggerMetadataRemoved: no Query or Headers copies, only the route values.
    expect(triggerMetadata).toEqual({ id: { string: '1' } });
  });

  it('sends no body when there is none', () => {
    const { data } = toRpcHttpTrigger({
      method: 'GET',
      url: 'http://h/api/x',
      rawHeaders: [],
      body: undefined,
      params: {},
    });

    expect(data.http?.body).toBeUndefined();
  });
});

describe('query and headers', () => {
  it('reads + as a space, keeps the first spelling of a key and ignores empty keys', () => {
    expect(parseQuery('?Name=a+b&name=c%26d&=x&flag')).toEqual({ Name: 'a b,c&d', flag: '' });
  });

  it('lower-cases header names and joins repeats with a comma', () => {
    expect(collectHeaders(['Accept', 'a', 'ACCEPT', 'b', 'Host', 'h'])).toEqual({ accept: 'a,b', host: 'h' });
  });
});

describe('formatSetCookie', () => {
  it('writes attributes in ASP.NET Core order with the default path', () => {
    const line = formatSetCookie({
      name: 'sid',
      value: "a;b c'",
      domain: { value: 'example.com' },
      expires: { value: { seconds: 1_767_225_600 } },
      maxAge: { value: 90.7 },
      secure: { value: true },
      httpOnly: { value: true },
      sameSite: 'lax',
    });

    expect(line).toBe(
      'sid=a%3Bb%20c%27; expires=Thu, 01 Jan 2026 00:00:00 GMT; max-age=90; domain=example.com; path=/; secure; samesite=lax; httponly',
    );
  });

  it("omits samesite when the library says 'none' (unspecified) and writes it for 'explicitNone'", () => {
    expect(formatSetCookie({ name: 'a', value: '1', sameSite: 'none' })).toBe('a=1; path=/');
    expect(formatSetCookie({ name: 'a', value: '1', sameSite: 'explicitNone' })).toBe(
      'a=1; path=/; samesite=none',
    );
  });
});

describe('fromRpcHttpResponse', () => {
  it('answers 200 with an empty body when the function produced no http value', () => {
    expect(fromRpcHttpResponse(undefined)).toEqual({ status: 200, headers: [], body: Buffer.alloc(0) });
  });

  it('drops framing headers the server computes itself', () => {
    const wire = fromRpcHttpResponse({
      http: {
        statusCode: '201',
        headers: { 'content-length': '999', 'x-a': 'b' },
        body: { bytes: Buffer.from('hi') },
      },
    });

    expect(wire).toEqual({ status: 201, headers: [['x-a', 'b']], body: Buffer.from('hi') });
  });
});

describe('toRpcTimer', () => {
  it('serialises TimerInfo in the host’s PascalCase with DateTime.MinValue for no last run', () => {
    const next = new Date('2030-01-01T03:00:00.000Z');
    const data = toRpcTimer({ last: undefined, next, lastUpdated: next }, false);

    expect(JSON.parse(data.json ?? '')).toEqual({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: '0001-01-01T00:00:00',
        Next: next.toISOString(),
        LastUpdated: next.toISOString(),
      },
      IsPastDue: false,
    });
  });
});

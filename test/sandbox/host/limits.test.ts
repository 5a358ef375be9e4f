// The local host refuses abusive HTTP with Kestrel's limits and status codes before any function runs.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST_LIMITS, startLocalHost } from '../../../sandbox/host/localHost.js';
import { fixture, fixtureEnv, rawRequest, type StartedHost, startFixture } from './hostHarness.js';

interface RawResult {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** Time from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/** A raw TCP client; `closed` settles when the server closes the connection and fails if it never does. */
async function rawClient(
  port: number,
  limitMs = 8_000,
): Promise<{ socket: net.Socket; closed: Promise<RawResult> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const openedAt = performance.now();
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  // A reset after the server closed is just another way of closing.
  socket.on('error', () => {});
  const closed = new Promise<RawResult>((resolve, reject) => {
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms; got ${JSON.stringify(text)}`));
    }, limitMs);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ text, closedAfterMs: performance.now() - openedAt });
    });
  });
  return { socket, closed };
}

/** Sends `payload` on a fresh connection and waits until the server closes it. */
async function sendRaw(port: number, payload: string): Promise<RawResult> {
  const { socket, closed } = await rawClient(port);
  socket.write(payload, 'latin1');
  return closed;
}

/** Every status line in what the server sent, in order. */
const statusLines = (text: string): string[] => text.match(/^HTTP\/1\.1 \d{3}[^\r]*/gm) ?? [];

/** How many invocations the host started (its `Executing 'Functions.x'` lines). */
const invocations = (started: StartedHost): number =>
  started.logs.filter((l) => l.message.startsWith("Executing 'Functions.")).length;

describe('with the real host limits', () => {
  let started: StartedHost;
  let port: number;
  let hostLine: string;

  beforeAll(async () => {
    started = await startFixture('host-app', { env: fixtureEnv, timers: false });
    port = started.host.port;
    hostLine = `Host: 127.0.0.1:${port}\r\n`;
  });

  afterAll(async () => {
    await started.host.close();
  });

  it('defaults to Kestrel limits with the Functions host body cap', () => {
    expect(started.host.limits).toEqual({
      maxRequestLineBytes: 8_192,
      maxRequestHeadersTotalBytes: 32_768,
      maxRequestHeaderCount: 100,
      maxRequestBodyBytes: 104_857_600,
      requestHeadersTimeoutMs: 30_000,
      minRequestBodyBytesPerSecond: 240,
      minRequestBodyGracePeriodMs: 5_000,
      keepAliveTimeoutMs: 130_000,
    });
    expect(started.host.limits).toEqual(DEFAULT_REQUEST_LIMITS);
  });

  it('keeps an idle connection for the Kestrel keep-alive timeout (130 s), not the Node 5 s', async () => {
    const response = await rawRequest(`${started.host.url}/api/items`);

    expect(response.status).toBe(201);
    expect(response.headers['keep-alive']).toBe('timeout=130');
  });

  // Header lines, each with its CRLF, adding up to `total` bytes as Kestrel counts them.
  const headersOfSize = (total: number): string => {
    const fixed = `${hostLine}Connection: close\r\n`;
    return `${fixed}X-Big: ${'a'.repeat(total - fixed.length - 'X-Big: \r\n'.length)}\r\n`;
  };

  it('accepts headers of exactly 32 KB (twice the Node default) and answers 431 one byte over, without invoking', async () => {
    const atLimit = await sendRaw(port, `GET /api/items HTTP/1.1\r\n${headersOfSize(32_768)}\r\n`);
    const before = invocations(started);

    const over = await sendRaw(port, `GET /api/items HTTP/1.1\r\n${headersOfSize(32_769)}\r\n`);

    expect(statusLines(atLimit.text)).toEqual(['HTTP/1.1 201 Created']);
    expect(statusLines(over.text)).toEqual(['HTTP/1.1 431 Request Header Fields Too Large']);
    expect(invocations(started)).toBe(before);
  });

  it('answers 431 to headers far over the limit, refused by the parser', async () => {
    const before = invocations(started);

    const result = await sendRaw(port, `GET /api/items HTTP/1.1\r\n${headersOfSize(64 * 1024)}\r\n`);

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 431 Request Header Fields Too Large']);
    expect(invocations(started)).toBe(before);
  });

  it('accepts a request line of exactly 8 KB and answers 414 one byte over, without invoking', async () => {
    // `GET ` + target + ` HTTP/1.1\r\n` is 15 bytes around the target.
    const target = (lineBytes: number) =>
      `/api/items?q=${'a'.repeat(lineBytes - 15 - '/api/items?q='.length)}`;
    const atLimit = await sendRaw(
      port,
      `GET ${target(8_192)} HTTP/1.1\r\n${hostLine}Connection: close\r\n\r\n`,
    );
    const before = invocations(started);

    const over = await sendRaw(port, `GET ${target(8_193)} HTTP/1.1\r\n${hostLine}Connection: close\r\n\r\n`);

    expect(statusLines(atLimit.text)).toEqual(['HTTP/1.1 201 Created']);
    expect(statusLines(over.text)).toEqual(['HTTP/1.1 414 URI Too Long']);
    expect(invocations(started)).toBe(before);
  });

  it('accepts 100 header lines and answers 431 to 101, without invoking', async () => {
    const lines = (count: number) =>
      `${hostLine}Connection: close\r\n${Array.from({ length: count - 2 }, (_, i) => `X-H${i}: v\r\n`).join('')}`;
    const atLimit = await sendRaw(port, `GET /api/items HTTP/1.1\r\n${lines(100)}\r\n`);
    const before = invocations(started);

    const over = await sendRaw(port, `GET /api/items HTTP/1.1\r\n${lines(101)}\r\n`);

    expect(statusLines(atLimit.text)).toEqual(['HTTP/1.1 201 Created']);
    expect(statusLines(over.text)).toEqual(['HTTP/1.1 431 Request Header Fields Too Large']);
    expect(invocations(started)).toBe(before);
  });

  it('refuses Transfer-Encoding with Content-Length (400, one response, connection closed): nothing smuggled reaches the app', async () => {
    const hidden = `GET /api/items HTTP/1.1\r\n${hostLine}\r\n`;
    const chunked = `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`;
    const before = invocations(started);

    const result = await sendRaw(
      port,
      `POST /api/echo/1 HTTP/1.1\r\n${hostLine}Content-Type: text/plain\r\nContent-Length: 4\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n${chunked}`,
    );

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(invocations(started)).toBe(before);
  });
});

describe('with short timeouts and a small body cap', () => {
  let started: StartedHost;
  let port: number;
  const head = (contentLength: number) =>
    `POST /api/echo/1?as=text HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${contentLength}\r\n\r\n`;

  beforeAll(async () => {
    started = await startFixture('host-app', {
      env: fixtureEnv,
      timers: false,
      limits: { minRequestBodyGracePeriodMs: 500, requestHeadersTimeoutMs: 500, maxRequestBodyBytes: 1_024 },
    });
    port = started.host.port;
  });

  afterAll(async () => {
    await started.host.close();
  });

  it('cuts off a body sent at 1 byte per 200 ms with 408 after the grace period and closes the connection', async () => {
    const before = invocations(started);
    const { socket, closed } = await rawClient(port);
    socket.write(head(100));
    const drip = setInterval(() => {
      if (socket.writable) socket.write('a');
    }, 200);

    const result = await closed.finally(() => clearInterval(drip));

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(result.text).toMatch(/\r\nconnection: close\r\n/i);
    // Not before the grace period; closed by the server within a few seconds after it.
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(500);
    expect(result.closedAfterMs).toBeLessThan(5_000);
    expect(invocations(started)).toBe(before);
  });

  it('cuts off a body that never starts (headers, then silence) with 408 and closes the connection', async () => {
    const before = invocations(started);
    const { socket, closed } = await rawClient(port);
    socket.write(head(10));

    const result = await closed;

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(result.closedAfterMs).toBeLessThan(5_000);
    expect(invocations(started)).toBe(before);
  });

  it('passes a body sent slowly but above the minimum rate, past the grace period', async () => {
    const { socket, closed } = await rawClient(port);
    socket.write(head(1_000).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    // 100 bytes every 150 ms is about 660 bytes/s, over 240, and lasts about 1.5 s, past the 500 ms grace.
    for (let i = 0; i < 10; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      socket.write('b'.repeat(100));
    }

    const result = await closed;

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 200 OK']);
    expect(result.text).toContain(`"body":"${'b'.repeat(1_000)}"`);
  });

  it('checks bodies read at the same time each against its own start, and again once reads resume after a pause', async () => {
    const silent = async () => {
      const { socket, closed } = await rawClient(port);
      socket.write(head(10));
      return closed;
    };
    const steady = async () => {
      const { socket, closed } = await rawClient(port);
      socket.write(head(1_000).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
      for (let i = 0; i < 10; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        socket.write('c'.repeat(100));
      }
      return closed;
    };

    const [cut, passed] = await Promise.all([silent(), steady()]);
    expect(statusLines(cut.text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(statusLines(passed.text)).toEqual(['HTTP/1.1 200 OK']);

    // No body is being read for over a heartbeat; a new one is still checked.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const later = await silent();
    expect(statusLines(later.text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(later.closedAfterMs).toBeGreaterThanOrEqual(500);
    expect(later.closedAfterMs).toBeLessThan(5_000);
  });

  it('passes a body sent at full speed', async () => {
    const response = await rawRequest(`${started.host.url}/api/echo/1?as=text`, {
      method: 'POST',
      headers: ['Content-Type', 'text/plain', 'Content-Length', '1024'],
      body: 'c'.repeat(1_024),
    });

    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString()).body).toBe('c'.repeat(1_024));
  });

  it('answers 413 to a declared body over the cap, and to a chunked one that grows over it, without invoking', async () => {
    const before = invocations(started);

    const declared = await sendRaw(port, `${head(1_025)}${'d'.repeat(1_025)}`);
    const chunked = await sendRaw(
      port,
      `POST /api/echo/1?as=text HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `400\r\n${'e'.repeat(1_024)}\r\n1\r\ne\r\n0\r\n\r\n`,
    );

    expect(statusLines(declared.text)).toEqual(['HTTP/1.1 413 Payload Too Large']);
    expect(statusLines(chunked.text)).toEqual(['HTTP/1.1 413 Payload Too Large']);
    expect(invocations(started)).toBe(before);
  });

  it('answers 408 and closes the connection when the headers do not arrive within the headers timeout', async () => {
    const before = invocations(started);
    const { socket, closed } = await rawClient(port);
    socket.write(`GET /api/items HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);

    const result = await closed;

    expect(statusLines(result.text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(500);
    expect(result.closedAfterMs).toBeLessThan(5_000);
    expect(invocations(started)).toBe(before);
  });
});

describe('limit options', () => {
  it.each([
    [{ maxRequestHeaderCount: 0 }, 'limits.maxRequestHeaderCount must be an integer >= 1, got 0'],
    [{ requestHeadersTimeoutMs: 1.5 }, 'limits.requestHeadersTimeoutMs must be an integer >= 1, got 1.5'],
    [
      { minRequestBodyBytesPerSecond: -1 },
      'limits.minRequestBodyBytesPerSecond must be an integer >= 0, got -1',
    ],
  ])('refuses %o at start-up, naming the limit', async (limits, message) => {
    await expect(startLocalHost({ appRoot: fixture('host-app'), port: 0, limits })).rejects.toThrow(message);
  });

  it('does not enforce the minimum rate when it is 0', async () => {
    const started = await startFixture('host-app', {
      env: fixtureEnv,
      timers: false,
      limits: { minRequestBodyBytesPerSecond: 0, minRequestBodyGracePeriodMs: 1 },
    });
    try {
      const { socket, closed } = await rawClient(started.host.port);
      socket.write(
        `POST /api/echo/1?as=text HTTP/1.1\r\nHost: 127.0.0.1:${started.host.port}\r\nContent-Type: text/plain\r\n` +
          'Content-Length: 2\r\nConnection: close\r\n\r\nf',
      );
      // Well past the 1 ms grace and two heartbeats with 1 byte in: a rate check would have refused it.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      socket.write('f');

      const result = await closed;

      expect(statusLines(result.text)).toEqual(['HTTP/1.1 200 OK']);
    } finally {
      await started.host.close();
    }
  });
});

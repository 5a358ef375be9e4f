// readCapped: a peer's answer is read to its cap and no further, whether the peer declares a length or
// streams without one, over a real socket as well as in memory.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readCapped } from '../../shared/peerAnswer.js';
import { endlessAnswer } from '../helpers/endlessAnswer.js';

/** A body delivered in the given pieces, with no Content-Length. */
const chunked = (pieces: Uint8Array[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    }),
  );

describe('readCapped', () => {
  it('returns the text of an answer within the cap, a character split across pieces intact', async () => {
    const bytes = Buffer.from('{"name":"Zoë ✓"}', 'utf8');
    const split = bytes.indexOf(0xc3) + 1; // inside ë's two bytes
    const text = await readCapped(chunked([bytes.subarray(0, split), bytes.subarray(split)]), 1024);
    expect(text).toBe('{"name":"Zoë ✓"}');
  });

  it('accepts exactly the cap in bytes and refuses one byte more', async () => {
    const cap = 10;
    expect(await readCapped(new Response('é'.repeat(5)), cap)).toBe('é'.repeat(5)); // 10 bytes
    expect(await readCapped(chunked([new Uint8Array(6), new Uint8Array(5)]), cap)).toBeUndefined();
  });

  it.each([
    ['a leading byte order mark', Buffer.from('\uFEFF{"access_token":"x"}', 'utf8')],
    ['malformed UTF-8', Buffer.from([0x7b, 0xff, 0xc3, 0x28, 0x7d])],
    ['plain JSON', Buffer.from('{"a":[1,2]}', 'utf8')],
  ])('decodes %s exactly as response.text() does', async (_name, bytes) => {
    const expected = await new Response(bytes).text();
    expect(await readCapped(chunked([bytes.subarray(0, 2), bytes.subarray(2)]), 1024)).toBe(expected);
  });

  it('answers "" for an answer without a body', async () => {
    expect(await readCapped(new Response(null, { status: 204 }), 10)).toBe('');
  });

  it('reads nothing of an answer that declares a length over the cap', async () => {
    const answer = endlessAnswer(200, 4096, { 'content-length': '1048576' });
    expect(await readCapped(answer.response, 65_536)).toBeUndefined();
    expect(answer.bytesRead).toBeLessThanOrEqual(4096); // at most what the stream queued on its own
    expect(answer.cancelled).toBe(true);
  });

  it('stops an endless answer just past the cap and cancels it', async () => {
    const answer = endlessAnswer(200, 4096);
    expect(await readCapped(answer.response, 65_536)).toBeUndefined();
    expect(answer.bytesRead).toBeGreaterThan(65_536);
    expect(answer.bytesRead).toBeLessThanOrEqual(65_536 + 2 * 4096);
    expect(answer.cancelled).toBe(true);
  });

  it('rejects when the answer breaks off, as reading it would', async () => {
    const broken = new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(3));
          controller.error(new Error('socket hang up'));
        },
      }),
    );
    await expect(readCapped(broken, 1024)).rejects.toThrow('socket hang up');
  });

  it('closes the connection of a peer that streams without end, over a real socket', async () => {
    let written = 0;
    let closed!: () => void;
    const peerSawClose = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(16_384, 0x20);
      const more = () => {
        while (!response.destroyed && response.write(piece)) written += piece.length;
      };
      response.on('drain', more);
      response.on('close', closed);
      more();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      expect(await readCapped(await fetch(`http://127.0.0.1:${port}/`), 65_536)).toBeUndefined();
      // Without the cancel, the peer would go on writing into an open connection until the test timed out.
      await peerSawClose;
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      server.close();
    }
  });
});

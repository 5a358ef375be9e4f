// A peer's answer, read to a byte cap. fetch has no limit of its own: `response.text()` buffers whatever the
// peer sends, for as long as the request's timeout allows, and a `Content-Length` check alone misses a
// chunked answer. Every peer whose answer the broker reads itself (Entra, AWS STS, the managed identity
// endpoint, caller issuers' JWKS, the GCP metadata server, the shared tier's blobs) answers a few KiB;
// anything much longer is not their answer, so it is not read past the cap.

const utf8 = new TextDecoder('utf-8');

/**
 * The bytes of `chunks` when they come to at most `maxBytes`; `undefined` as soon as they pass it. Leaving
 * the loop early ends the source: a web stream is cancelled, a Node stream destroyed. A failure while
 * reading rejects.
 */
export async function readToCap(
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const read: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    length += chunk.byteLength;
    if (length > maxBytes) return undefined;
    read.push(chunk);
  }
  return Buffer.concat(read, length);
}

/**
 * The answer's text when it is at most `maxBytes` bytes; `undefined` when it is longer, in which case the
 * rest is not read and the body is cancelled. A failure while reading (a timeout, a reset) rejects as
 * reading would; the caller decides what its caller sees.
 */
export async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  const body = response.body;
  if (body === null) return '';
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await body.cancel().catch(() => undefined);
    return undefined;
  }
  const bytes = await readToCap(body, maxBytes);
  // As response.text() decodes: UTF-8, a leading byte order mark dropped, malformed bytes replaced.
  return bytes === undefined ? undefined : utf8.decode(bytes);
}

// A peer's answer, read to a byte cap. fetch has no limit of its own: `response.text()` buffers whatever the
// peer sends, for as long as the request's timeout allows, and a `Content-Length` check alone misses a
// chunked answer. Entra, AWS STS and the managed identity endpoint all answer a few KiB; anything much
// longer is not their answer, so it is not read past the cap.

const utf8 = new TextDecoder('utf-8');

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
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  // As response.text() decodes: UTF-8, a leading byte order mark dropped, malformed bytes replaced.
  return utf8.decode(Buffer.concat(chunks, length));
}

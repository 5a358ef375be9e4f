// An answer that never ends: a body of `chunk`-byte pieces pulled on demand, counting what was read and
// whether the reader cancelled it. For the peers' byte caps (shared/peerAnswer.ts).

export interface EndlessAnswer {
  response: Response;
  /** Bytes handed to the reader so far. */
  readonly bytesRead: number;
  /** Whether the reader cancelled the body. */
  readonly cancelled: boolean;
}

export function endlessAnswer(
  status = 200,
  chunk = 4096,
  headers: Record<string, string> = {},
): EndlessAnswer {
  const state = { bytesRead: 0, cancelled: false };
  const piece = new Uint8Array(chunk).fill(0x7b); // '{'
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.bytesRead += piece.byteLength;
      controller.enqueue(piece.slice());
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return {
    response: new Response(body, { status, headers }),
    get bytesRead() {
      return state.bytesRead;
    },
    get cancelled() {
      return state.cancelled;
    },
  };
}

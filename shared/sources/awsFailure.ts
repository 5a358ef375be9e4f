// The AWS SDK clients of the token sources: what their answers may cost, and how a failed call is
// told.
//
// A failed call is described for a SourceError by the service's exception name (AWS's vocabulary,
// never a URL, a token or a message that may carry one) and, when documented, what fixes it.
//
// The SDK reads a whole answer into memory before parsing it, however long it is, for as long as the
// call's deadline allows. STS and Cognito answer a token in a few KiB, so the clients the token
// sources build stop reading at AWS_ANSWER_MAX_BYTES, with peerAnswer.ts's readToCap, as the broker
// does for the peers it reads itself. A middleware, because the SDK has no such limit of its own. The
// SDK's credential providers (instance metadata, the web identity STS call) read through clients of
// their own and are not capped.
import { Readable } from 'node:stream';
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';
import { readToCap } from '../peerAnswer.js';

/** The most of an STS or Cognito answer, error answers included, the broker reads. */
export const AWS_ANSWER_MAX_BYTES = 65_536;

/** Raised in place of an answer longer than the cap; the rest of it is not read. */
export class AnswerTooLargeError extends Error {
  override name = 'AnswerTooLargeError';

  constructor(readonly maxBytes: number) {
    super(`the answer is longer than ${maxBytes} bytes`);
  }
}

/**
 * Makes `client` read at most `maxBytes` of any answer. The middleware sits in the deserialize step below
 * the SDK's deserializer (priority low), so the deserializer reads the capped body, whatever the status.
 */
export function capAnswers<Input extends object, Output extends object>(
  client: { middlewareStack: MiddlewareStack<Input, Output> },
  maxBytes = AWS_ANSWER_MAX_BYTES,
): void {
  const cap: DeserializeMiddleware<Input, Output> = (next) => async (args) => {
    const result = await next(args);
    const response = result.response as { headers?: Record<string, string>; body?: unknown };
    if (!(response.body instanceof Readable)) return result;
    // Read to the cap (leaving early destroys the body), then handed to the deserializer as one chunk.
    const bytes =
      Number(response.headers?.['content-length'] ?? 0) > maxBytes
        ? undefined
        : await readToCap(response.body, maxBytes);
    if (bytes === undefined) {
      response.body.destroy();
      throw new AnswerTooLargeError(maxBytes);
    }
    response.body = Readable.from([bytes]);
    return result;
  };
  client.middlewareStack.add(cap, { step: 'deserialize', priority: 'low', name: 'brokerAnswerCap' });
}

/**
 * `STS refused: <fix>`, `STS answered ThrottlingException (HTTP 400)`, `STS answered more than 65536 bytes`,
 * or `STS unreachable`.
 */
export function describeAwsFailure(
  service: string,
  error: unknown,
  fixes: Readonly<Record<string, string>>,
): string {
  const name = error instanceof Error ? error.name : undefined;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (error instanceof AnswerTooLargeError)
    return `${service} answered more than ${error.maxBytes} bytes, which is not a token answer`;
  if (name !== undefined && Object.hasOwn(fixes, name)) return `${service} refused: ${fixes[name]}`;
  if (status !== undefined && name !== undefined && /^[A-Za-z]{1,64}$/.test(name)) {
    return `${service} answered ${name} (HTTP ${status})`;
  }
  if (name === 'TimeoutError' || name === 'AbortError') return `${service} did not answer in time`;
  return `${service} unreachable`;
}

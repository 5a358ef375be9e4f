// Describes a failed AWS SDK call for a SourceError: the service's exception name (AWS's vocabulary,
// never a URL, a token or a message that may carry one) and, when documented, what fixes it.

/** `STS refused: <fix>`, `STS answered ThrottlingException (HTTP 400)`, or `STS unreachable`. */
export function describeAwsFailure(
  service: string,
  error: unknown,
  fixes: Readonly<Record<string, string>>,
): string {
  const name = error instanceof Error ? error.name : undefined;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (name !== undefined && Object.hasOwn(fixes, name)) return `${service} refused: ${fixes[name]}`;
  if (status !== undefined && name !== undefined && /^[A-Za-z]{1,64}$/.test(name)) {
    return `${service} answered ${name} (HTTP ${status})`;
  }
  if (name === 'TimeoutError' || name === 'AbortError') return `${service} did not answer in time`;
  return `${service} unreachable`;
}

/**
 * What of a failed AWS SDK call is safe to keep as a cause: the exception's name, the HTTP status and
 * AWS's request id, nothing else. The SDK's error can hold the service's answer verbatim (a parse failure
 * keeps the whole body in `$responseBodyText`, which for STS's GetWebIdentityToken holds the broker's
 * token) and its message may quote what was signed.
 */
export function safeAwsCause(error: unknown): { name: string; status?: number; requestId?: string } {
  const name = error instanceof Error && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : 'Error';
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown; requestId?: unknown } } | null)
    ?.$metadata;
  const status = typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  const requestId =
    typeof metadata?.requestId === 'string' && /^[\w-]{1,128}$/.test(metadata.requestId)
      ? metadata.requestId
      : undefined;
  return {
    name,
    ...(status === undefined ? {} : { status }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

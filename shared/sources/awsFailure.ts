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

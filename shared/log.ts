// Structured logging over the Functions InvocationContext. Every event has an allow-list of fields,
// so a token, an assertion or a request body cannot reach a log line by accident.
import { Buffer } from 'node:buffer';

/** Events the broker emits, with the only fields each may carry. */
export const LOG_EVENTS = {
  'health.checked': ['status'],
  'request.failed': ['function', 'errorName', 'errorCode'],
  'token.decision': [
    'outcome',
    'status',
    'reason',
    'caller',
    'target',
    'scope',
    'rule',
    'aadsts',
    'tenant',
    'clientId',
    'assertionIssuer',
    'assertionSubject',
    'sourceProblem',
    'subjectTokenSha256',
    'tokenSha256',
    'expiresAt',
    'cache',
    'durationMs',
  ],
  'source.unavailable': ['source', 'reason'],
  'entra.unavailable': ['targets'],
  'token.refresh_failed': ['target', 'scope', 'reason', 'aadsts'],
  'tokens.refreshed': ['refreshed', 'shared', 'published', 'skipped', 'failed', 'durationMs'],
  'broker.misconfigured': ['errorName', 'problems'],
  'shared_cache.enabled': ['container', 'keySource', 'keyVersions', 'leaseSeconds'],
  'shared_cache.disabled': ['reason', 'container', 'keySource', 'keyVersions'],
  'shared_cache.keys_loaded': ['keyVersions'],
  'shared_cache.key_unavailable': ['reason'],
  'shared_cache.key_skipped': ['version', 'reason'],
  'shared_cache.unavailable': ['operation', 'errorName', 'status'],
  'shared_cache.recovered': [],
  'shared_cache.unreadable': ['reason'],
} as const satisfies Record<string, readonly string[]>;

export type LogEvent = keyof typeof LOG_EVENTS;

export type LogFields<E extends LogEvent> = Partial<
  Record<(typeof LOG_EVENTS)[E][number], string | number | boolean | readonly string[]>
>;

/** The subset of InvocationContext the logger writes through. */
export interface LogTarget {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export type LogLevel = 'info' | 'warn' | 'error';

/**
 * JSON text with every character outside printable ASCII written as a `\uXXXX` escape. JSON.stringify
 * leaves DEL, C1 controls (U+0085 NEL among them), U+2028, U+2029 and bidirectional overrides raw,
 * and log viewers break lines or reorder text on them (issue 7); escaped, no field value can start a
 * new line or disguise another in any viewer, and the line still parses to the same value.
 */
export function toLogLine(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify has escaped everything below U+0020. As many UTF-8 bytes as characters means none
  // above U+007F either: then only DEL is left to look for, and the line is written as it is. Both
  // checks are native scans; the replace below costs as much as the stringify on a clean audit line.
  if (Buffer.byteLength(text, 'utf8') === text.length && !text.includes('\x7f')) return text;
  return text.replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Writes one JSON line `{event, ...fields}`, fields in the order the event's allow-list names them; fields
 * not on the allow-list, and fields that are undefined, are dropped.
 */
export function logEvent<E extends LogEvent>(
  target: LogTarget,
  level: LogLevel,
  event: E,
  fields: LogFields<E>,
): void {
  const line: Record<string, unknown> = { event };
  // In the allow-list's order, own fields only. A line with a dozen fields is written on every request:
  // walking the list costs about half of looking each field of the caller's object up in a set.
  for (const key of LOG_EVENTS[event] as readonly string[]) {
    const value = (fields as Record<string, unknown>)[key];
    if (value !== undefined && Object.hasOwn(fields, key)) line[key] = value;
  }
  target[level](toLogLine(line));
}

/**
 * Logs a request failure that is not a plain refusal: the error's class and code only, never its
 * message (a library message may carry a URL or a payload). Refusals are already in the audit line.
 */
export function reportFailure(target: LogTarget, functionName: string, error: unknown): void {
  const exposed =
    typeof error === 'object' && error !== null && (error as { expose?: unknown }).expose === true;
  if (exposed) return;
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  if (name === 'ConfigError' || name === 'PolicyError') {
    logEvent(target, 'error', 'broker.misconfigured', {
      errorName: name,
      problems: (error as { problems: readonly string[] }).problems,
    });
    return;
  }
  logEvent(target, 'error', 'request.failed', {
    function: functionName,
    errorName: name,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
  });
}

// The Entra client: client credentials with a federated client assertion (entra-federation.md,
// protocols.md §A.2–A.5), one POST per call, strict parsing of both answers. The broker owns its
// cache (tokenCache.ts), so this is a plain fetch rather than msal (perf-reliability.md §2.6, §5).
import type { Clock } from '../clock.js';
import { readCapped } from '../peerAnswer.js';
import * as z from '../schema.js';

export interface EntraTokenRequest {
  tenant: string;
  clientId: string;
  /** One resource with `/.default`. */
  scope: string;
  /** The broker's own platform token (never logged, never in an error). */
  assertion: string;
}

export interface EntraToken {
  accessToken: string;
  /** Expiry in ms since the epoch, counted from when the request was *sent* (perf §4.2 F11). */
  expiresAtMs: number;
  /** Where this instance got it: Entra itself, or the shared cache tier another instance filled. */
  origin?: 'entra' | 'shared';
}

export interface EntraClient {
  requestToken(request: EntraTokenRequest): Promise<EntraToken>;
}

export type EntraFailureKind = 'refused' | 'throttled' | 'unavailable';

/** Entra did not issue a token. Carries no upstream body: only status, `error` and AADSTS code. */
export class EntraError extends Error {
  /** Issuer and subject of the assertion Entra refused (not secrets), set by whoever sent it. */
  assertionIdentity: { issuer: string; subject: string } | undefined;

  constructor(
    readonly kind: EntraFailureKind,
    readonly status: number | undefined,
    readonly aadsts: number | undefined,
    readonly oauthError: string | undefined,
    readonly retryAfterSeconds: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      `Entra ${kind}${status === undefined ? '' : ` (HTTP ${status}`}${aadsts === undefined ? '' : `, AADSTS${aadsts}`}${status === undefined ? '' : ')'}`,
      options,
    );
    this.name = 'EntraError';
  }
}

export interface EntraClientOptions {
  /** e.g. https://login.microsoftonline.com (no trailing slash needed). */
  authorityHost: string;
  timeoutMs: number;
  /** Upper bound for a Retry-After Entra sends, in seconds (perf §4.2 F6). */
  retryAfterMaxSeconds: number;
  clock: Clock;
  fetch?: typeof fetch;
}

/**
 * Entra's answers are a few KiB (an access token with its claims, or an error with a description); one
 * longer than this is not read past it, and is treated as malformed.
 */
const MAX_ANSWER_BYTES = 256 * 1024;

const successSchema = z.object({
  token_type: z.string().check(z.regex(/^bearer$/i)),
  // v2 sends a number; accept a numeric string too (v1 shape, protocols.md §A.3).
  expires_in: z.pipe(
    z.union([z.number(), z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number))]),
    z.number().check(z.int(), z.positive()),
  ),
  access_token: z.string().check(z.regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/)),
});
const errorSchema = z.object({ error: z.string(), error_codes: z.optional(z.array(z.number())) });

/** Creates the Entra client for the v2.0 token endpoint. */
export function createEntraClient(options: EntraClientOptions): EntraClient {
  const doFetch = options.fetch ?? fetch;
  const authority = options.authorityHost.replace(/\/+$/, '');
  return {
    async requestToken(request) {
      const sentAt = options.clock.now();
      const url = `${authority}/${encodeURIComponent(request.tenant)}/oauth2/v2.0/token`;
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: request.clientId,
        scope: request.scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: request.assertion,
      });
      let response: Response;
      let text: string | undefined;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        text = await readCapped(response, MAX_ANSWER_BYTES);
      } catch (error) {
        // The cause is a network or timeout error; it names no secret but is not shown to callers.
        throw new EntraError('unavailable', undefined, undefined, undefined, undefined, { cause: error });
      }
      if (response.ok) {
        const parsed = successSchema.safeParse(text === undefined ? undefined : parseJson(text));
        if (!parsed.success)
          throw new EntraError('unavailable', response.status, undefined, 'malformed_response', undefined);
        return { accessToken: parsed.data.access_token, expiresAtMs: sentAt + parsed.data.expires_in * 1000 };
      }
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), options);
      const error = errorSchema.safeParse(text === undefined ? undefined : parseJson(text));
      const aadsts = error.success ? error.data.error_codes?.[0] : undefined;
      const oauthError = error.success ? error.data.error : undefined;
      if (response.status === 429)
        throw new EntraError('throttled', 429, aadsts, oauthError, retryAfter ?? 60);
      if (response.status >= 500)
        throw new EntraError('unavailable', response.status, aadsts, oauthError, retryAfter);
      throw new EntraError('refused', response.status, aadsts, oauthError, undefined);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After as delta-seconds or an HTTP-date, clamped to [1, max] seconds; undefined if absent or junk. */
export function parseRetryAfter(
  value: string | null,
  options: Pick<EntraClientOptions, 'retryAfterMaxSeconds' | 'clock'>,
): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  let seconds: number;
  if (/^-?\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    seconds = Math.ceil((date - options.clock.now()) / 1000);
  }
  return Math.min(Math.max(seconds, 1), options.retryAfterMaxSeconds);
}

// Verifies an AWS Signature Version 4 `Authorization` header the way an AWS service does: the key's
// principal from the directory, the credential scope, the 5-minute window, the session token, then
// the signature recomputed with @smithy/signature-v4 over exactly the headers the client signed.
// Each stand-in maps the failure to its own protocol's error (STS query XML, Cognito JSON 1.1).
import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsDirectory, AwsPrincipalSeed } from './model.js';

/** A request as it arrived: method, path with query, headers (lower-case names), raw body. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/?Action=GetCallerIdentity&Version=2011-06-15`. */
  url: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

export type SigV4Failure =
  | 'missing'
  | 'malformed'
  | 'unknownKey'
  | 'wrongScope'
  | 'expiredSignature'
  | 'expiredToken'
  | 'badSignature';

export type SigV4Result =
  | { ok: true; principal: AwsPrincipalSeed; signedHeaders: readonly string[] }
  | { ok: false; failure: SigV4Failure; message: string };

export interface SigV4Options {
  service: string;
  region: string;
  directory: AwsDirectory;
  /** Now, in milliseconds; the clock the window is checked against. */
  now: number;
  /** How far `X-Amz-Date` may be from now, in milliseconds; 5 minutes unless told (STS allows 15). */
  windowMs?: number;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const formatAmzDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Verifies the request's SigV4 signature; never throws for a bad request. */
export async function verifySigV4(request: ReceivedRequest, options: SigV4Options): Promise<SigV4Result> {
  const fail = (failure: SigV4Failure, message: string): SigV4Result => ({ ok: false, failure, message });
  const authorization = request.headers.authorization;
  if (authorization === undefined) return fail('missing', 'Request is missing Authentication Token');
  const parts = AUTHORIZATION.exec(authorization);
  const amzDate = request.headers['x-amz-date'] ?? '';
  const date = AMZ_DATE.exec(amzDate);
  if (!parts || !date) {
    return fail(
      'malformed',
      "Authorization header requires 'Credential', 'SignedHeaders', 'Signature' and a valid X-Amz-Date.",
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = parts as unknown as string[];
  const principal = options.directory.byAccessKey(accessKeyId as string);
  if (!principal) return fail('unknownKey', 'The security token included in the request is invalid.');
  if (service !== options.service)
    return fail('wrongScope', `Credential should be scoped to correct service: '${options.service}'.`);
  if (region !== options.region) return fail('wrongScope', `Credential should be scoped to a valid region.`);
  if (scopeDate !== amzDate.slice(0, 8))
    return fail(
      'wrongScope',
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
    );
  const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
  const signedAt = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  const windowMs = options.windowMs ?? 5 * 60_000;
  if (signedAt < options.now - windowMs) {
    return fail(
      'expiredSignature',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(options.now - windowMs)} (${formatAmzDate(options.now)} - ${windowMs / 60_000} min.)`,
    );
  }
  if (signedAt > options.now + windowMs) {
    return fail(
      'expiredSignature',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(options.now + windowMs)} (${formatAmzDate(options.now)} + ${windowMs / 60_000} min.)`,
    );
  }
  const sessionToken = request.headers['x-amz-security-token'];
  if ((principal.sessionToken ?? undefined) !== sessionToken) {
    return fail('unknownKey', 'The security token included in the request is invalid.');
  }
  if (principal.sessionExpiresAt !== undefined && options.now >= principal.sessionExpiresAt * 1000) {
    return fail('expiredToken', 'The security token included in the request is expired');
  }
  // The signer takes a present x-amz-content-sha256 as the payload's hash, so check it is the body's.
  const declaredHash = request.headers['x-amz-content-sha256'];
  if (
    declaredHash !== undefined &&
    declaredHash !== createHash('sha256').update(request.body).digest('hex')
  ) {
    return fail('badSignature', SIGNATURE_MISMATCH);
  }
  const signedHeaders = (signedList as string).split(';');
  if (!signedHeaders.includes('host'))
    return fail('malformed', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return fail('badSignature', SIGNATURE_MISMATCH);
    headers[name] = value;
  }
  const url = new URL(request.url, 'http://stand-in');
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const previous = query[name];
    query[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: principal.secretAccessKey,
      ...(principal.sessionToken ? { sessionToken: principal.sessionToken } : {}),
    },
    region: options.region,
    service: options.service,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: headers.host ?? '',
      path: url.pathname,
      query,
      headers,
      body: request.body.toString('utf8'),
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const recomputedHeaders = /SignedHeaders=([a-z0-9;-]+)/.exec(
    String(signed.headers.authorization ?? ''),
  )?.[1];
  if (
    recomputedHeaders !== signedList ||
    expected.length !== 64 ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(signature as string))
  ) {
    return fail('badSignature', SIGNATURE_MISMATCH);
  }
  return { ok: true, principal, signedHeaders };
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

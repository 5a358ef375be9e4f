// Parses and checks an AWS caller's serialised `sts:GetCallerIdentity` request (issue 8; protocols.md
// §C.4), the `aws4_request` subject token in Google STS's format: URL-encoded JSON of `url`, `method`
// and `headers`. Everything here runs before the request is forwarded, so nothing a caller sends can
// make the broker call anything but an allow-listed STS endpoint. Nothing here verifies the signature:
// STS does, when the broker forwards the request.
import { BROKER_AUDIENCE_HEADER, GET_CALLER_IDENTITY_QUERY } from '../client/awsRequestFormat.js';
import { BrokerError } from '../errors.js';
import * as z from '../schema.js';
import { findDuplicateName } from './jwtShape.js';

/** Headers a serialised request may carry; anything else is refused rather than forwarded. */
const FORWARDED_HEADERS = new Set([
  'authorization',
  'host',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'content-type',
  BROKER_AUDIENCE_HEADER,
]);

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}\/(\d{8})\/[a-z0-9-]{1,32}\/sts\/aws4_request, ?SignedHeaders=([a-z0-9;-]{1,512}), ?Signature=[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const serialised = z.strictObject({
  url: z.string().check(z.maxLength(2048)),
  method: z.literal('POST'),
  headers: z
    .array(
      z.strictObject({
        key: z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/)),
        value: z.string().check(z.regex(/^[\x20-\x7e]{0,4096}$/)),
      }),
    )
    .check(z.maxLength(16)),
});

/** A serialised request that passed every check, ready to forward. */
export interface CheckedSignedRequest {
  url: URL;
  /** Lower-case names, each once; `host` included. */
  headers: ReadonlyMap<string, string>;
  /** When the request was signed (`X-Amz-Date`), in milliseconds. */
  signedAtMs: number;
}

export interface SignedRequestCheckOptions {
  /** The broker's audience: the binding header's value. */
  audience: string;
  /** Origins (`https://sts.<region>.amazonaws.com`) a request may name. */
  stsEndpoints: readonly string[];
  /** Largest accepted token, in bytes. */
  maxBytes: number;
  /** Now, in milliseconds. */
  now: number;
  /** How far `X-Amz-Date` may be from now, in milliseconds (STS allows 5 minutes; add the clock skew). */
  windowMs: number;
}

const refuse = (description: string): BrokerError =>
  new BrokerError('invalid_grant', 401, `The signed AWS request was refused: ${description}.`, {
    detail: { reason: 'caller_token_invalid' },
  });

function decode(token: string, maxBytes: number): z.infer<typeof serialised> {
  if (token.length === 0) throw refuse('it is empty');
  if (token.length > maxBytes) throw refuse(`it is larger than ${maxBytes} bytes`);
  let json: string;
  try {
    json = decodeURIComponent(token);
  } catch {
    throw refuse('it is not URL-encoded JSON');
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw refuse('it is not URL-encoded JSON');
  }
  if (findDuplicateName(json) !== undefined) throw refuse('its JSON repeats a member name');
  const parsed = serialised.safeParse(value);
  if (!parsed.success) {
    throw refuse(
      'it must be exactly {url, method: POST, headers: [{key, value}]} with printable header values',
    );
  }
  return parsed.data;
}

function checkUrl(raw: string, stsEndpoints: readonly string[]): URL {
  if (!URL.canParse(raw)) throw refuse('its url is not a URL');
  const url = new URL(raw);
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.hash !== '') {
    throw refuse('its url must be https, without credentials or fragment');
  }
  if (!stsEndpoints.includes(url.origin)) throw refuse('its url is not an STS endpoint this broker uses');
  if (url.pathname !== '/' || url.search !== `?${GET_CALLER_IDENTITY_QUERY}`) {
    throw refuse(`its url must be the endpoint with exactly ?${GET_CALLER_IDENTITY_QUERY}`);
  }
  return url;
}

function checkHeaders(entries: z.infer<typeof serialised>['headers']): Map<string, string> {
  const headers = new Map<string, string>();
  for (const { key, value } of entries) {
    const name = key.toLowerCase();
    if (!FORWARDED_HEADERS.has(name)) throw refuse('it carries a header this broker does not forward');
    if (headers.has(name)) throw refuse(`it repeats the header ${name}`);
    headers.set(name, value);
  }
  return headers;
}

/**
 * Checks a serialised GetCallerIdentity request: shape, allow-listed endpoint and query, headers,
 * the binding header (present, this broker's, signed), and the signing time. Throws the contract's 401.
 */
export function checkSignedRequest(token: string, options: SignedRequestCheckOptions): CheckedSignedRequest {
  const request = decode(token, options.maxBytes);
  const url = checkUrl(request.url, options.stsEndpoints);
  const headers = checkHeaders(request.headers);
  if (headers.get('host') !== url.host) throw refuse("its host header must be its url's host");
  const audience = headers.get(BROKER_AUDIENCE_HEADER);
  if (audience === undefined)
    throw refuse(`it is not bound to this broker (no ${BROKER_AUDIENCE_HEADER} header)`);
  if (audience !== options.audience) throw refuse(`its ${BROKER_AUDIENCE_HEADER} names another broker`);
  const authorization = AUTHORIZATION.exec(headers.get('authorization') ?? '');
  if (!authorization) throw refuse('its Authorization header is not an AWS Signature Version 4 for STS');
  const signed = (authorization[2] as string).split(';');
  for (const name of ['host', 'x-amz-date', BROKER_AUDIENCE_HEADER]) {
    if (!signed.includes(name)) throw refuse(`its ${name} header is not signed`);
  }
  const date = AMZ_DATE.exec(headers.get('x-amz-date') ?? '');
  if (!date || date[0].slice(0, 8) !== authorization[1])
    throw refuse('its X-Amz-Date is missing or malformed');
  const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
  const signedAtMs = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  if (Math.abs(options.now - signedAtMs) > options.windowMs) {
    throw refuse('it was signed outside the time window STS accepts');
  }
  return { url, headers, signedAtMs };
}

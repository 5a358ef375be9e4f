// The metadata server's wire habits: the request headers it demands, the headers every answer carries, its bodies.
import type { Context, MiddlewareHandler } from 'hono';

/** Headers on every answer, errors included (protocols.md §B.1; gcp-metadata rejects answers without the flavor). */
export const METADATA_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Metadata-Flavor': 'Google',
  Server: 'Metadata Server for VM',
  // Seen on the emulator (GC4), which copies them from the real server's answers. [UNCONFIRMED]
  'X-XSS-Protection': '0',
  'X-Frame-Options': 'SAMEORIGIN',
};

/**
 * Body of the 403 for a request without `Metadata-Flavor: Google`. [UNCONFIRMED] This is the text the
 * emulator (salrashid123/gce_metadata_server, not Google-authored) sends, as quoted in protocols.md §B.1;
 * the real server's wording has not been captured here.
 */
export const MISSING_FLAVOR_TEXT = 'Missing required header "Metadata-Flavor": "Google"';

/** Body of the 400 for an identity request without a non-empty `audience` (emulator text). [UNCONFIRMED] */
export const MISSING_AUDIENCE_TEXT = 'non-empty audience parameter required';

// Values are `application/text` on the real server (observed answers, also what the emulator sends for
// values); errors are HTML like every Google front end's. [UNCONFIRMED]
const VALUE_TYPE = 'application/text';
const JSON_TYPE = 'application/json';
const HTML_TYPE = 'text/html; charset=UTF-8';

/**
 * Enforces the request-header rules and stamps the response headers. Order as the emulator checks:
 * any `X-Forwarded-For` is refused first (Google documents that the metadata server rejects proxied
 * requests), then a missing flavor is a 403 and a wrong one a 404 (emulator-observed). The root `/`
 * answers without the flavor header, as the emulator does. [UNCONFIRMED for the real server]
 */
export const metadataHeaders: MiddlewareHandler = async (c, next) => {
  for (const [name, value] of Object.entries(METADATA_RESPONSE_HEADERS)) c.header(name, value);
  if (c.req.header('x-forwarded-for') !== undefined) return htmlError(c, 403, 'Forbidden');
  const flavor = c.req.header('metadata-flavor');
  if (c.req.path !== '/' && (flavor === undefined || flavor === '')) {
    return htmlError(c, 403, MISSING_FLAVOR_TEXT);
  }
  if (c.req.path !== '/' && flavor !== 'Google') return notFound(c);
  await next();
  for (const [name, value] of Object.entries(METADATA_RESPONSE_HEADERS)) c.res.headers.set(name, value);
  return c.res;
};

/** A leaf value as text (`application/text`). */
export const sendValue = (c: Context, value: string): Response =>
  c.body(value, 200, { 'Content-Type': VALUE_TYPE });

/** A directory listing: one entry per line, sub-directories ending in `/`, a newline after each. */
export const sendListing = (c: Context, entries: readonly string[]): Response =>
  sendValue(c, entries.map((entry) => `${entry}\n`).join(''));

/** Already-serialised JSON (recursive listings, the access token). */
export const sendJsonText = (c: Context, json: string): Response =>
  c.body(json, 200, { 'Content-Type': JSON_TYPE });

/** An HTML error body with a trailing newline, as the emulator writes them. */
export const htmlError = (c: Context, status: 400 | 403 | 404, text: string): Response =>
  c.body(`${text}\n`, status, { 'Content-Type': HTML_TYPE });

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * Google's generic 404 page, trimmed to its text, naming the path only (never the query string, which
 * can carry an audience).
 */
export const notFound = (c: Context): Response =>
  htmlError(
    c,
    404,
    `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n` +
      `  <p><b>404.</b> <ins>That’s an error.</ins>\n` +
      `  <p>The requested URL <code>${escapeHtml(c.req.path)}</code> was not found on this server.` +
      `  <ins>That’s all we know.</ins>`,
  );

/**
 * A directory asked for without its trailing slash: 301 to the slashed path, query kept. Emulator-observed
 * (GC4); gcp-metadata's detection ping (`GET .../instance`) follows it. [UNCONFIRMED for the real server]
 */
export const redirectToDirectory = (c: Context): Response => {
  const url = new URL(c.req.url);
  const location = `${url.pathname}/${url.search}`;
  return c.body(`${url.pathname}/\n`, 301, { Location: location, 'Content-Type': 'text/html' });
};

// Checks a caller's JWT must pass before jose sees it (perf-reliability.md §2.5, §4.2 A): a size
// cap, compact JWS shape, JSON objects without duplicate names, no control characters or line
// separators in claims, no `__proto__` member, no key named by URL or embedded in the header.
// jose accepts a 1.3 MB token, a duplicated `sub` (last wins) and a `sub` with a newline.

import { BrokerError } from '../errors.js';

/** Why a token failed its shape check; the verifier turns this into `invalid_grant`. */
export class JwtShapeError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'JwtShapeError';
  }
}

export interface JwtShapeOptions {
  /** Largest accepted token, in bytes (the token is ASCII when well formed). */
  maxBytes: number;
}

/**
 * checkJwtShape for a subject token: a failure becomes the contract's 401 `invalid_grant`.
 * No token component has been verified when this returns.
 */
export function checkSubjectTokenShape(
  token: string,
  options: JwtShapeOptions,
): ReturnType<typeof checkJwtShape> {
  try {
    return checkJwtShape(token, options);
  } catch (error) {
    if (!(error instanceof JwtShapeError)) throw error;
    throw new BrokerError('invalid_grant', 401, `The subject token was refused: ${error.reason}.`, {
      cause: error,
      detail: { reason: 'caller_token_invalid' },
    });
  }
}

// C0 controls, DEL, C1 controls and the Unicode line and paragraph separators: never legitimate in an
// identifier, and each starts a new line in some log viewer (JSON.stringify leaves U+2028/9 raw).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/**
 * Header members that name a key by URL or carry one (RFC 7515 §4.1.2–4.1.6). jose ignores them, but
 * no issuer the broker trusts sets them, and a token that does is an attempt to steer key selection
 * or trigger a fetch (perf-reliability.md §4.2 B6): refused before the signature is checked.
 */
const KEY_REFERENCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'];

/**
 * Checks size, shape and JSON hygiene of an unverified JWT and returns its decoded header and
 * payload objects. No token component has been verified when this returns; it only refuses tokens
 * that must never reach the signature check.
 */
export function checkJwtShape(
  token: string,
  options: JwtShapeOptions,
): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  if (token.length === 0) throw new JwtShapeError('the subject token is empty');
  if (token.length > options.maxBytes) {
    throw new JwtShapeError(`the subject token is larger than ${options.maxBytes} bytes`);
  }
  const segments = token.split('.');
  if (segments.length !== 3)
    throw new JwtShapeError('the subject token is not a compact JWS (three segments)');
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  // A header that passed every check below before passes them again: they read nothing else.
  const known = checkedHeaders.get(headerSegment);
  const headerBytes = known === undefined ? decodeSegment(headerSegment) : undefined;
  const payloadBytes = decodeSegment(payloadSegment);
  if (
    (known === undefined && headerBytes === undefined) ||
    payloadBytes === undefined ||
    !isBase64url(signatureSegment)
  ) {
    throw new JwtShapeError('the subject token has an empty or non-base64url segment');
  }
  const header = known ?? parseObject(headerBytes as Buffer, 'header').value;
  const payload = parseObject(payloadBytes, 'payload');
  if (known === undefined) {
    const reference = KEY_REFERENCE_HEADERS.find((name) => Object.hasOwn(header, name));
    if (reference !== undefined) {
      throw new JwtShapeError(
        `the subject token's header carries '${reference}', which this broker never uses`,
      );
    }
  }
  const unsafe = mayHoldUnsafeMember(payload) ? findUnsafeMember(payload.value) : undefined;
  if (unsafe !== undefined)
    throw new JwtShapeError(`the subject token's claim '${unsafe.path}' ${unsafe.why}`);
  if (known === undefined) rememberHeader(headerSegment, header);
  return { header, payload: payload.value };
}

/**
 * Headers that passed the checks, frozen, by their segment's text. An issuer writes the same header on every
 * token a key signs, so nearly every caller token's header is one of a few: it is not decoded, parsed and
 * counted again (bench/README.md, eleventh round). Only headers of plain values are kept, so an answer
 * shared between requests cannot be changed by one of them; past the bound, the map starts again.
 */
const checkedHeaders = new Map<string, Readonly<Record<string, unknown>>>();
const CHECKED_HEADERS_MAX = 256;

function rememberHeader(segment: string, header: Record<string, unknown>): void {
  if (!Object.values(header).every((value) => typeof value !== 'object' || value === null)) return;
  if (checkedHeaders.size >= CHECKED_HEADERS_MAX) checkedHeaders.clear();
  checkedHeaders.set(segment, Object.freeze(header));
}

/** A token part as JSON.parse read it, with the text it was read from and how deep that nests. */
interface ParsedPart {
  value: Record<string, unknown>;
  text: string;
  /** The deepest nesting of objects and arrays in the text; the part itself is 1. */
  depth: number;
  /** Whether the text holds an escape sequence (a backslash). */
  escapes: boolean;
  /** Whether the text is all ASCII (as many UTF-8 bytes as characters). */
  ascii: boolean;
}

/**
 * A segment's bytes when it is base64url as RFC 7515 §2 has it: the URL-safe alphabet, no padding, and
 * canonical (the bits left over in its last character zero, which RFC 4648 §3.5 lets a decoder require).
 * Node's decoder skips what it cannot read and takes `+`, `/` and `=` too, so a segment is base64url
 * exactly when its bytes encode back to it; this also refuses the same token spelled with other spare
 * bits, which no encoder writes. The comparison replaces a regular expression over the token, in less time.
 */
function decodeSegment(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return segment.length > 0 && bytes.toString('base64url') === segment ? bytes : undefined;
}

/** Whether a segment is base64url as decodeSegment has it; for the signature, whose bytes jose decodes itself. */
const isBase64url = (segment: string): boolean => decodeSegment(segment) !== undefined;

function parseObject(bytes: Buffer, part: 'header' | 'payload'): ParsedPart {
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) throw new JwtShapeError(`the subject token's ${part} is not valid UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtShapeError(`the subject token's ${part} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtShapeError(`the subject token's ${part} is not a JSON object`);
  }
  const object = value as Record<string, unknown>;
  const ascii = bytes.length === text.length;
  const walked = { members: 0, depth: 0 };
  if (countMembers(object, 1, walked) && walked.members === countNameEnds(text))
    return { value: object, text, depth: walked.depth, escapes: text.includes('\\'), ascii };
  const { duplicate, depth, escapes } = scanNames(text);
  if (duplicate !== undefined) {
    throw new JwtShapeError(`the subject token's ${part} repeats the name '${printable(duplicate)}'`);
  }
  return { value: object, text, depth, escapes, ascii };
}

/**
 * How many times the text has a quote, optional JSON whitespace and a colon: how every member name ends.
 * Elsewhere only in a string that opens with whitespace and a colon, or holds an escaped quote before
 * one; so the text has at least as many of these as it has names. Counted by hand, not with a regular
 * expression's matches: those are an array and a string per name, for every caller token.
 */
function countNameEnds(text: string): number {
  let count = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) {
    let next = at + 1;
    let code = text.charCodeAt(next);
    while (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) code = text.charCodeAt(++next);
    if (code === 0x3a /* : */) count += 1;
  }
  return count;
}

/**
 * Adds the members of every object in a parsed part to `walk.members`, and how deep it nests to `walk.depth`;
 * false past MAX_CLAIM_DEPTH. JSON.parse keeps one member of each repeated name (and drops what the others
 * held), so a part has as many members as its text has names only if no name repeats in any object. When
 * that count equals countNameEnds', which is never smaller than the names', no name repeats: nearly every
 * token is cleared this way, in a fraction of scanNames' time. Any other count is settled by scanNames,
 * which names the repeated member for the refusal (bench/README.md, ninth round). One tally per part, not
 * an answer object per nested value.
 */
function countMembers(value: object, level: number, walk: { members: number; depth: number }): boolean {
  if (level > MAX_CLAIM_DEPTH) return false;
  if (level > walk.depth) walk.depth = level;
  const isArray = Array.isArray(value);
  const children: unknown[] = isArray ? value : Object.values(value);
  if (!isArray) walk.members += children.length;
  for (const child of children)
    if (typeof child === 'object' && child !== null && !countMembers(child, level + 1, walk)) return false;
  return true;
}

/**
 * Returns the first member name that appears twice in one JSON object, at any depth. Runs only on
 * text JSON.parse has accepted, so it can scan without validating. Written by hand: JSON.parse keeps
 * the last duplicate silently (RFC 7519 §4 allows only reject-or-last-wins), and no maintained
 * library reports duplicates.
 */
export const findDuplicateName = (json: string): string | undefined => scanNames(json).duplicate;

/**
 * The scan behind findDuplicateName, which also measures the nesting. It runs on every caller token not
 * yet in the verified-token cache (bench/README.md, eighth round), so: character codes rather than
 * one-character strings, a name without escapes sliced rather than parsed, and in text with no escape
 * at all (nearly every token) the end of each string found by a native search.
 */
function scanNames(json: string): { duplicate: string | undefined; depth: number; escapes: boolean } {
  const escapes = json.includes('\\');
  const stack: Array<Set<string> | null> = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      stack.push(code === 0x7b ? new Set() : null);
      if (stack.length > depth) depth = stack.length;
      expectName = code === 0x7b;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      stack.pop();
      expectName = false;
    } else if (code === 0x2c /* , */) {
      expectName = stack[stack.length - 1] instanceof Set;
    } else if (code === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      if (!escapes) end = json.indexOf('"', end);
      else {
        for (let c = json.charCodeAt(end); c !== 0x22; c = json.charCodeAt(end)) {
          if (c === 0x5c /* \ */) {
            escaped = true;
            end += 2;
          } else end += 1;
        }
      }
      if (expectName) {
        const name = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        const names = stack[stack.length - 1];
        if (names?.has(name)) return { duplicate: name, depth, escapes };
        names?.add(name);
        expectName = false;
      }
      i = end;
    }
  }
  return { duplicate: undefined, depth, escapes };
}

const CONTROLLED = 'contains a control character or line separator';

/**
 * How deep claims may nest. No issuer the broker knows nests more than a few levels; the walk below is
 * recursive, and at CALLER_TOKEN_MAX_BYTES' upper bound a payload of nested arrays would overflow the stack.
 */
const MAX_CLAIM_DEPTH = 32;

/**
 * Whether findUnsafeMember has anything to find. Nothing, when the payload's text has no escape sequence
 * and no control character or separator anywhere (so no name or string holds one), no `"__proto__"`, and
 * no nesting as deep as the limit: then the walk is skipped. Any doubt walks, and the walk words the refusal.
 * In ASCII text only DEL can stand raw in a name or string: JSON.parse refuses C0 controls there unescaped
 * (a raw tab or newline can only be whitespace between members), and C1 controls and the separators are
 * not ASCII; so DEL alone is looked for, without the regular expression's scan.
 */
const mayHoldUnsafeMember = ({ text, depth, escapes, ascii }: ParsedPart): boolean =>
  depth > MAX_CLAIM_DEPTH ||
  escapes ||
  (ascii ? text.includes('\x7f') : CONTROL_CHARACTERS.test(text)) ||
  text.includes('"__proto__"');

/**
 * Finds a claim, at any depth, holding a control character or named `__proto__` (never merged into
 * objects), or nested deeper than MAX_CLAIM_DEPTH.
 */
function findUnsafeMember(value: unknown, depth = 0): { path: string; why: string } | undefined {
  if (typeof value === 'string')
    return CONTROL_CHARACTERS.test(value) ? { path: '', why: CONTROLLED } : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_CLAIM_DEPTH) return { path: '', why: `nests deeper than ${MAX_CLAIM_DEPTH} levels` };
  const isArray = Array.isArray(value);
  for (const key of Object.keys(value)) {
    // The path is built only for the member that is refused, on the way out.
    const here = (below: string) => {
      const own = isArray ? `[${key}]` : key;
      return below === '' ? own : below.startsWith('[') ? `${own}${below}` : `${own}.${below}`;
    };
    if (CONTROL_CHARACTERS.test(key)) return { path: printable(here('')), why: CONTROLLED };
    if (key === '__proto__') return { path: printable(here('')), why: 'uses a reserved name' };
    const child = (value as Record<string, unknown>)[key];
    if (typeof child !== 'object' && typeof child !== 'string') continue;
    const found = findUnsafeMember(child, depth + 1);
    if (found !== undefined) return { path: printable(here(found.path)), why: found.why };
  }
  return undefined;
}

/** Claim names go into error descriptions: keep them short and free of control characters. */
function printable(name: string): string {
  return name.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), '?').slice(0, 64);
}

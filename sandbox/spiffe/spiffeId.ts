// SPIFFE ID parsing with go-spiffe's rules and error texts, which SPIRE's agent passes on to workloads.

/** A parsed SPIFFE ID (`spiffe://<trust domain><path>`). */
export interface SpiffeId {
  /** The whole ID as given. */
  id: string;
  /** The trust domain name, e.g. `example.org`. */
  trustDomain: string;
  /** The path, empty or starting with `/`. */
  path: string;
}

/** A SPIFFE ID that go-spiffe's `spiffeid.FromString` refuses; `message` is go-spiffe's text. */
export class SpiffeIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpiffeIdError';
  }
}

const SCHEME = 'spiffe://';
// go-spiffe spiffeid/charset_backcompat_deny.go build: the strict character sets of the SPIFFE ID spec §2.
const TRUST_DOMAIN_CHAR = /^[a-z0-9._-]$/;
const PATH_CHAR = /^[a-zA-Z0-9._-]$/;

// Texts from spiffe/go-spiffe spiffeid/errors.go (SPIRE 1.x builds go-spiffe v2 with the strict set).
const ERR = {
  empty: 'cannot be empty',
  scheme: 'scheme is missing or invalid',
  trustDomainChar:
    'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  noTrustDomain: 'trust domain is missing',
  noLeadingSlash: 'path must have a leading slash',
  emptySegment: 'path cannot contain empty segments',
  dotSegment: 'path cannot contain dot segments',
  pathChar: 'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
  trailingSlash: 'path cannot have a trailing slash',
} as const;

/** go-spiffe's `ValidatePath`: segment by segment, in the same order, so the first error is the same. */
function validatePath(path: string): void {
  if (path === '') return;
  if (path[0] !== '/') throw new SpiffeIdError(ERR.noLeadingSlash);
  let segmentStart = 0;
  for (let end = 0; end < path.length; end += 1) {
    const c = path.charAt(end);
    if (c === '/') {
      const segment = path.slice(segmentStart, end);
      if (segment === '/') throw new SpiffeIdError(ERR.emptySegment);
      if (segment === '/.' || segment === '/..') throw new SpiffeIdError(ERR.dotSegment);
      segmentStart = end;
      continue;
    }
    if (!PATH_CHAR.test(c)) throw new SpiffeIdError(ERR.pathChar);
  }
  const last = path.slice(segmentStart);
  if (last === '/') throw new SpiffeIdError(ERR.trailingSlash);
  if (last === '/.' || last === '/..') throw new SpiffeIdError(ERR.dotSegment);
}

/**
 * Parses a SPIFFE ID as go-spiffe's `spiffeid.FromString` does; throws a `SpiffeIdError` with go-spiffe's
 * message for the first rule broken.
 */
export function parseSpiffeId(id: string): SpiffeId {
  if (id === '') throw new SpiffeIdError(ERR.empty);
  if (!id.startsWith(SCHEME)) throw new SpiffeIdError(ERR.scheme);
  let pathIndex = SCHEME.length;
  for (; pathIndex < id.length; pathIndex += 1) {
    const c = id.charAt(pathIndex);
    if (c === '/') break;
    if (!TRUST_DOMAIN_CHAR.test(c)) throw new SpiffeIdError(ERR.trustDomainChar);
  }
  if (pathIndex === SCHEME.length) throw new SpiffeIdError(ERR.noTrustDomain);
  const path = id.slice(pathIndex);
  validatePath(path);
  return { id, trustDomain: id.slice(SCHEME.length, pathIndex), path };
}

/** Checks a trust domain name (`example.org`) with the same character rules; throws a `SpiffeIdError`. */
export function assertTrustDomainName(name: string): void {
  if (name === '') throw new SpiffeIdError(ERR.noTrustDomain);
  for (const c of name) if (!TRUST_DOMAIN_CHAR.test(c)) throw new SpiffeIdError(ERR.trustDomainChar);
}

// SPIFFE ID syntax (SPIFFE-ID spec §2, protocols.md §D.1): `spiffe://<trust domain><path>`, the trust
// domain lower-case letters, digits, `.`, `-`, `_`; path segments of letters, digits, `.`, `-`, `_`,
// none empty, `.` or `..`; no port, user info, query or fragment; at most 2048 bytes. Written by hand:
// a dozen lines, and no maintained Node SPIFFE library exists (protocols.md §D.3).

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
}

/**
 * Valid IDs parsed lately. One SVID's `sub` is parsed four times per request (to pick the verifier, to
 * check it, to choose its key set, for the principal) and once more per cached request (to choose the key
 * set again), and a workload presents the same ID every time: a pure function's answers, frozen, at most
 * 256 of them (a flood of distinct IDs only empties the memo). Invalid IDs are not kept.
 */
const recentlyParsed = new Map<string, SpiffeId>();
const RECENTLY_PARSED_MAX = 256;

/** The trust domain and path of a valid SPIFFE ID, or undefined. Nothing else is accepted. */
export function parseSpiffeId(id: unknown): SpiffeId | undefined {
  if (typeof id !== 'string') return undefined;
  const known = recentlyParsed.get(id);
  if (known !== undefined) return known;
  const parsed = parse(id);
  if (parsed !== undefined) {
    if (recentlyParsed.size >= RECENTLY_PARSED_MAX) recentlyParsed.clear();
    recentlyParsed.set(id, parsed);
  }
  return parsed;
}

function parse(id: string): SpiffeId | undefined {
  if (id.length > 2048 || !id.startsWith('spiffe://')) return undefined;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return undefined;
  if (path !== '') {
    const segments = path.slice(1).split('/');
    if (segments.some((segment) => segment === '.' || segment === '..' || !SEGMENT.test(segment)))
      return undefined;
  }
  return Object.freeze({ trustDomain, path });
}

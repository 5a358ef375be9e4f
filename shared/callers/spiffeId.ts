// SPIFFE ID syntax (SPIFFE-ID spec §2, protocols.md §D.1): `spiffe://<trust domain><path>`, the trust
// domain lower-case letters, digits, `.`, `-`, `_`; path segments of letters, digits, `.`, `-`, `_`,
// none empty, `.` or `..`; no port, user info, query or fragment; at most 2048 bytes. Written by hand:
// a dozen lines, and no maintained Node SPIFFE library exists (protocols.md §D.3).

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The trust domain and path of a valid SPIFFE ID, or undefined. Nothing else is accepted. */
export function parseSpiffeId(id: unknown): { trustDomain: string; path: string } | undefined {
  if (typeof id !== 'string' || id.length > 2048 || !id.startsWith('spiffe://')) return undefined;
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
  return { trustDomain, path };
}

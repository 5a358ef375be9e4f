// Reading the claims of a JWS whose signature a stand-in has verified: the payload must be one JSON object,
// and a claim the stand-in names counts only as a non-empty string (anything else reads as absent).

/** The payload as a JSON object, or undefined when it is not JSON or not an object. */
export function claimsObject(payload: Uint8Array): Record<string, unknown> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : undefined;
}

/** The claim `name` when it is a non-empty string. */
export function textClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

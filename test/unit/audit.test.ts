// The audit line (broker.md step 5): the `token.decision` line logEvent would write for the record, built
// without logEvent's walk (shared/audit.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, audit, describeCaller } from '../../shared/audit.js';
import type { GooglePrincipal } from '../../shared/callers/callerVerifier.js';
import { LOG_EVENTS, type LogTarget, logEvent } from '../../shared/log.js';
import { PAYMENTS_ROLE_SESSION } from '../helpers/principals.js';

/** Every line written, with its level. */
function capture(): { target: LogTarget; lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const target: LogTarget = {
    info: (line) => lines.push(['info', String(line)]),
    warn: (line) => lines.push(['warn', String(line)]),
    error: (line) => lines.push(['error', String(line)]),
  };
  return { target, lines };
}

/** What logEvent writes for the record: the line audit must write. */
function viaLogEvent(record: AuditRecord): Array<[string, string]> {
  const { target, lines } = capture();
  logEvent(target, record.outcome === 'failed' ? 'warn' : 'info', 'token.decision', {
    ...record,
    caller: record.caller && describeCaller(record.caller),
  });
  return lines;
}

const google: GooglePrincipal = {
  kind: 'google',
  issuer: 'https://accounts.google.com',
  subject: '100000000000000000002',
  email: 'demo-caller@sandbox-project.iam.gserviceaccount.com',
  projectId: 'sandbox-project',
};

const everyField: AuditRecord = {
  durationMs: 12.5,
  cache: 'miss',
  expiresAt: '2026-12-02T17:00:00.000Z',
  tokenSha256: 'b'.repeat(64),
  subjectTokenSha256: 'a'.repeat(64),
  sourceProblem: 'the metadata server did not answer',
  assertionSubject: 'sub',
  assertionIssuer: 'https://issuer.example',
  clientId: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
  tenant: '11111111-2222-3333-4444-555555555555',
  aadsts: 700213,
  rule: 'demo',
  scope: 'https://vault.azure.net/.default',
  target: 'vault-reader',
  caller: google,
  reason: 'entra_refused',
  status: 502,
  outcome: 'failed',
};

describe('audit', () => {
  it("writes every field in the allow-list's order, whatever order the record has them in", () => {
    const { target, lines } = capture();

    audit(target, everyField);

    expect(lines).toHaveLength(1);
    expect(Object.keys(JSON.parse(lines[0]?.[1] as string))).toEqual([
      'event',
      ...LOG_EVENTS['token.decision'],
    ]);
    expect(lines).toEqual(viaLogEvent(everyField));
  });

  it('writes the line logEvent writes for a grant, a refusal before verification, and a failure', () => {
    const records: AuditRecord[] = [
      {
        subjectTokenSha256: 'c'.repeat(64),
        caller: PAYMENTS_ROLE_SESSION,
        target: 'vault-reader',
        rule: 'payments',
        scope: 'https://vault.azure.net/.default',
        tokenSha256: 'd'.repeat(64),
        expiresAt: '2026-12-02T17:00:00.000Z',
        cache: 'hit',
        outcome: 'granted',
        status: 200,
        reason: 'rule_matched',
        durationMs: 0.3,
      },
      { outcome: 'refused', status: 400, reason: 'invalid_request', durationMs: 0 },
      { ...everyField, caller: undefined, aadsts: undefined },
    ];
    const levels: string[] = [];
    for (const record of records) {
      const { target, lines } = capture();
      audit(target, record);
      expect(lines).toEqual(viaLogEvent(record));
      levels.push(...lines.map(([level]) => level));
    }
    expect(levels).toEqual(['info', 'info', 'warn']);
  });

  it('writes a caller with any characters as printable ASCII that parses back to it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (email) => {
        const { target, lines } = capture();
        const record: AuditRecord = { ...everyField, caller: { ...google, email } };

        audit(target, record);

        expect(lines[0]?.[1]).toMatch(/^[\x20-\x7e]+$/);
        expect(JSON.parse(lines[0]?.[1] as string).caller).toBe(describeCaller(record.caller as never));
        expect(lines).toEqual(viaLogEvent(record));
      }),
      { numRuns: 300 },
    );
  });
});

// The AADSTS catalogue and Entra's error body: exact description layout, timestamps, overrides, and the
// catalogue's own consistency (invalid_client is 401, everything else 4xx/5xx as listed).
import { describe, expect, it } from 'vitest';
import {
  AADSTS,
  aadstsMessage,
  dotnetIsoTime,
  entraError,
  entraTimestamp,
} from '../../../sandbox/entra/aadsts.js';

const context = {
  traceId: '0000aaaa-11bb-cccc-dd33-eeeeee333333',
  correlationId: 'aaaa0000-bb11-2222-33cc-444444dddddd',
  now: Date.UTC(2016, 0, 9, 2, 2, 12, 345),
};

describe('entraError', () => {
  it("renders Entra's body for 700211 exactly", () => {
    const { status, body } = entraError(700211, { issuer: 'https://issuer.example' }, context);

    expect(status).toBe(401);
    expect(body).toEqual({
      error: 'invalid_client',
      error_description:
        "AADSTS700211: No matching federated identity record found for presented assertion issuer 'https://issuer.example'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation Trace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333 Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2016-01-09 02:02:12Z",
      error_codes: [700211],
      timestamp: '2016-01-09 02:02:12Z',
      trace_id: context.traceId,
      correlation_id: context.correlationId,
      error_uri: 'https://login.microsoftonline.com/error?code=700211',
    });
  });

  it('uses CRLF before the trailer when asked (the older layout)', () => {
    const { body } = entraError(900144, { name: 'scope' }, { ...context, separator: '\r\n' });

    expect(body.error_description).toBe(
      "AADSTS900144: The request body must contain the following parameter: 'scope'.\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2016-01-09 02:02:12Z",
    );
  });

  it('applies per-code overrides of status and error, and a per-response error', () => {
    const overridden = entraError(700024, {}, { ...context, overrides: { 700024: { status: 400 } } });
    const tenant = entraError(90002, { tenant: 'x' }, { ...context, error: 'invalid_tenant' });

    expect([overridden.status, overridden.body.error]).toEqual([400, 'invalid_client']);
    expect([tenant.status, tenant.body.error]).toEqual([400, 'invalid_tenant']);
  });

  it('leaves a missing parameter visible instead of inventing a value', () => {
    expect(aadstsMessage(700213)).toContain("assertion subject '{subject}'");
  });

  it('formats times as Entra does', () => {
    expect(entraTimestamp(context.now)).toBe('2016-01-09 02:02:12Z');
    expect(dotnetIsoTime(context.now)).toBe('2016-01-09T02:02:12.3450000Z');
    expect(dotnetIsoTime(0)).toBe('1970-01-01T00:00:00.0000000Z');
  });

  it('keeps the catalogue consistent: invalid_client rows are 401, the observed 4xx rows are 400', () => {
    for (const [code, entry] of Object.entries(AADSTS)) {
      if (entry.error === 'invalid_client') expect([code, entry.status]).toEqual([code, 401]);
      if (
        ['invalid_request', 'invalid_scope', 'invalid_resource', 'unauthorized_client'].includes(entry.error)
      ) {
        expect([code, entry.status]).toEqual([code, 400]);
      }
    }
  });
});

// Property-based fuzz of POST /api/token through the local Functions host (issue 7): arbitrary forms,
// headers and token-shaped strings. Every answer is a well-formed contract success or error, never a
// 500, never an echo of the submitted token; no log line holds a JWT or an Authorization value.
// FUZZ_SEED and FUZZ_RUNS set a longer or another run; the seed and case count are always printed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  admittedGoogleClaims,
  type HostileSandbox,
  isContractError,
  issuerControl,
  JWT_SHAPED,
  JWT_TOKEN_TYPE,
  startHostileSandbox,
  TOKEN_EXCHANGE_GRANT,
} from './kit.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_130);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const CONTRACT_STATUSES = [200, 400, 401, 403, 502, 503];

let sandbox: HostileSandbox;
let admitted: string;
let minted: string[];
const submitted = new Set<string>();

/** Runs of 24+ base64url characters: what an echo or a logged token would share with the input. */
const runsOf = (text: string): string[] => text.match(/[A-Za-z0-9_-]{24,}/g) ?? [];

beforeAll(async () => {
  sandbox = await startHostileSandbox();
  const { endpoints } = sandbox;
  const issuer = issuerControl(endpoints.google.adminUrl);
  const claims = admittedGoogleClaims(endpoints);
  admitted = await issuer.mint({ claims });
  // Validly signed tokens whose claims the fuzzer chose: arbitrary JSON over the admitted claims.
  const variations = fc.sample(
    fc.dictionary(fc.constantFrom(...Object.keys(claims), 'nbf', 'x'), fc.jsonValue()),
    {
      seed: SEED,
      numRuns: 24,
    },
  );
  minted = await Promise.all(
    variations.map((overrides) => issuer.mint({ claims: { ...claims, ...overrides } })),
  );
});

afterAll(async () => {
  await sandbox?.close();
});

const base64urlChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
const segment = fc.string({ unit: base64urlChar, maxLength: 120 });
const jsonSegment = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => Buffer.from(JSON.stringify(value) ?? '').toString('base64url'));
const anyText = fc.string({ unit: 'binary', maxLength: 120 });

/** Token-shaped strings: the admitted token, mutations of it, minted variations, JWT-shaped junk, anything. */
const tokenish = () =>
  fc.oneof(
    fc.constant(admitted),
    fc.constantFrom(...minted),
    fc
      .tuple(fc.nat(), fc.string({ unit: 'binary', maxLength: 4 }), fc.nat({ max: 6 }))
      .map(([at, insert, cut]) => {
        const i = at % admitted.length;
        return `${admitted.slice(0, i)}${insert}${admitted.slice(i + cut)}`;
      }),
    fc.tuple(jsonSegment, jsonSegment, segment).map((parts) => parts.join('.')),
    fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
    // Shapes of a serialised AWS signed request, with arbitrary members.
    fc
      .record({
        url: anyText,
        method: fc.oneof(fc.constantFrom('POST', 'GET'), anyText),
        headers: fc.jsonValue({ maxDepth: 2 }),
      })
      .map((request) => encodeURIComponent(JSON.stringify(request))),
    anyText,
  );

const fieldValue = (correct: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(correct) },
    { weight: 1, arbitrary: anyText },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', '\r\n', '\0', `${correct}\r\nX-Injected: 1`, correct.toUpperCase()),
    },
  );

const form = () =>
  fc
    .tuple(
      fc.record(
        {
          grant_type: fieldValue(TOKEN_EXCHANGE_GRANT),
          subject_token: tokenish(),
          subject_token_type: fc.oneof(
            fieldValue(JWT_TOKEN_TYPE),
            fc.constant('urn:ietf:params:aws:token-type:aws4_request'),
          ),
          audience: fieldValue('vault-reader'),
          scope: fieldValue('https://vault.azure.net/.default'),
          requested_token_type: fieldValue('urn:ietf:params:oauth:token-type:access_token'),
          resource: anyText,
          actor_token: tokenish(),
        },
        { requiredKeys: ['subject_token'] },
      ),
      fc.dictionary(fc.string({ maxLength: 12 }), anyText, { maxKeys: 3 }),
      fc.boolean(),
    )
    .map(([fields, extra, shuffle]) => {
      const entries = [...Object.entries(fields), ...Object.entries(extra)];
      if (shuffle) entries.reverse();
      return { token: fields.subject_token, body: new URLSearchParams(entries).toString() };
    });

const rawBody = () =>
  fc.tuple(tokenish(), anyText).map(([token, junk]) => ({ token, body: `${junk}${token}` }));

const headerName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
  .filter(
    (name) =>
      !/^(host|connection|content-length|transfer-encoding|keep-alive|upgrade|expect|te|trailer)$/.test(name),
  );
const headers = () =>
  fc.record({
    contentType: fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded; charset=latin1',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ),
    authorization: fc.option(tokenish().map((token) => `Bearer ${token.replace(/[^\x20-\x7e]/g, '')}`)),
    extra: fc.dictionary(headerName, fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/), { maxKeys: 3 }),
  });

function assertContract(answer: Answer, token: string, authorization: string | null): void {
  expect(CONTRACT_STATUSES, answer.text).toContain(answer.status);
  if (answer.status === 200) {
    expect(Object.keys(answer.json ?? {}).sort()).toEqual([
      'access_token',
      'expires_in',
      'issued_token_type',
      'scope',
      'token_type',
    ]);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  } else {
    expect(isContractError(answer), answer.text).toBe(true);
  }
  for (const run of [...runsOf(token), ...runsOf(authorization ?? '')])
    expect(answer.text).not.toContain(run);
}

describe('fuzzing POST /api/token through the local host', () => {
  it('answers every request with the contract, never a 500, never an echo', async () => {
    let cases = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 4, arbitrary: form() }, { weight: 1, arbitrary: rawBody() }),
          headers(),
          async (request, header) => {
            cases += 1;
            submitted.add(request.token);
            if (header.authorization) submitted.add(header.authorization);
            const answer = await sandbox.post(request.body, {
              ...header.extra,
              'content-type': header.contentType,
              ...(header.authorization ? { authorization: header.authorization } : {}),
            });
            assertContract(answer, request.token, header.authorization);
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    } finally {
      // Printed on success and on failure: fast-check's own failure message adds the shrunk counterexample and path.
      console.log(`fuzz: ${cases} cases, seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} to replay)`);
    }
    expect(cases).toBeGreaterThanOrEqual(RUNS);
  }, 600_000);

  it('wrote no log line holding a JWT, a submitted token or an Authorization value', () => {
    const output = sandbox.output();

    expect(output).toContain('"event":"token.decision"');
    expect(output).not.toMatch(JWT_SHAPED);
    for (const value of submitted) for (const run of runsOf(value)) expect(output).not.toContain(run);
  });
});

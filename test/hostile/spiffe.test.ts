// The spiffe caller path against every JWT attack of perf-reliability.md §2.5 (issue 9): issuerless
// JWT-SVIDs of the workloads' EC trust domain, signed through the caller agent's admin route, verified by
// the broker with the bundles it follows over its own agent's Workload API. The ES256 cases bite here.
import { describeJwtCallerPath, describeRefusal, type Expectation, publishAttackKeys } from './jwtAttacks.js';
import { issuerControl } from './kit.js';

// The JWT-SVID spec allows only alg, kid and typ in the header, so crit and b64 are refused for that.
const FORBIDDEN: Expectation = {
  status: 401,
  error: 'invalid_grant',
  description: "The subject token's header carries a parameter its issuer's specification forbids.",
};
const NOT_ACCEPTED = "The subject token's issuer is not accepted by this broker.";

describeJwtCallerPath(
  'spiffe',
  async (sandbox) => {
    const { spiffe, broker, demo } = sandbox.endpoints;
    const trustDomainAdmin = `${spiffe.callerAgentAdminUrl}/admin/trust-domains/${spiffe.trustDomain}`;
    const issuer = issuerControl(trustDomainAdmin);
    return {
      jwksUrl: `${trustDomainAdmin}/jwks`,
      profile: {
        name: 'spiffe',
        issuer,
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'],
        nativeAlgorithm: 'ES256',
        skewSeconds: 60,
        maxLifetimeSeconds: 3600,
        audience: broker.audience,
        claims: (now) => ({ sub: spiffe.callerId, aud: [broker.audience], iat: now, exp: now + 300 }),
        request: { audience: demo.target, scope: demo.scope },
        keys: await publishAttackKeys(issuer),
        describe: describeRefusal({
          audienceName: `this broker's audience (${broker.audience})`,
          maxLifetimeSeconds: 3600,
        }),
        overrides: {
          '#20': FORBIDDEN,
          '#21': FORBIDDEN,
          '#22': FORBIDDEN,
          '#23': FORBIDDEN,
          // Bundle keys from the Workload API are a standard JWK Set without `alg`, so a key is bound to its
          // type, not to one algorithm: a PS256 signature made with the trust domain's own RSA key is genuine,
          // and PS256 is an algorithm the JWT-SVID spec allows. Accepted, rightly.
          '#8': { status: 200 },
          'B8 alg': { status: 200 },
        },
      },
    };
  },
  [
    ['a SPIFFE ID in upper case', { sub: 'SPIFFE://workloads.sandbox/ns/payments/sa/api' }, NOT_ACCEPTED],
    ['a dot-dot segment', { sub: 'spiffe://workloads.sandbox/ns/../sa/api' }, NOT_ACCEPTED],
    ['an empty segment', { sub: 'spiffe://workloads.sandbox/ns//api' }, NOT_ACCEPTED],
    ['a query', { sub: 'spiffe://workloads.sandbox/ns/api?x=1' }, NOT_ACCEPTED],
    ['a port', { sub: 'spiffe://workloads.sandbox:443/ns/api' }, NOT_ACCEPTED],
    [
      'the trust domain alone',
      { sub: 'spiffe://workloads.sandbox' },
      "The subject token's 'sub' is not a workload's SPIFFE ID.",
    ],
    ['another trust domain', { sub: 'spiffe://broker.sandbox/token-broker' }, NOT_ACCEPTED],
  ],
);

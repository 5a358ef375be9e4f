// Shared fixtures for the SPIRE stand-in tests: identities, a settable clock, gRPC error and JWT helpers.
import type { ServiceError } from '@grpc/grpc-js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { expect } from 'vitest';

export const TRUST_DOMAIN = 'example.org';
export const BROKER_ID = 'spiffe://example.org/ns/broker/sa/broker';
export const APP_ID = 'spiffe://example.org/ns/app/sa/app';
export const APP_SECOND_ID = 'spiffe://example.org/ns/app/sa/app-internal';
/** The audience Entra expects in a federated assertion. */
export const ENTRA_AUDIENCE = 'api://AzureADTokenExchange';

/** A clock tests move by hand; starts at the current second so jose's own time checks agree. */
export interface FakeClock {
  now(): number;
  advanceSeconds(seconds: number): void;
}

export function fakeClock(): FakeClock {
  let now = Math.floor(Date.now() / 1000) * 1000;
  return { now: () => now, advanceSeconds: (seconds) => (now += seconds * 1000) };
}

/** Asserts that a call failed with this gRPC status code (grpc.status) and exactly these details. */
export async function expectGrpcError(call: Promise<unknown>, code: number, details: string): Promise<void> {
  const error = (await call.then(
    () => expect.unreachable('the call succeeded'),
    (failure: unknown) => failure,
  )) as ServiceError;
  expect({ code: error.code, details: error.details }).toEqual({ code, details });
}

/** The protected header and claims of a compact JWS, unverified. */
export const readJwt = (token: string) => ({
  header: decodeProtectedHeader(token),
  claims: decodeJwt(token),
});

/** Retries `attempt` until it succeeds or `timeoutMs` passes (a client reconnecting after a restart). */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

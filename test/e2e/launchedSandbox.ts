// What the JWT-caller end-to-end files share: the launched sandbox for the file (started before, stopped
// after), and an exchange of a JWT subject token for the demo target that remembers every token seen.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { interrupt, type Launched, launch, whenUp } from '../../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../../sandbox/lib/tls.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';

/** The log canary's verdict: each secret found verbatim in `output`, and the first JWT-shaped string. */
export function leaksIn(output: string, secrets: Iterable<string>): string[] {
  const leaked = [...secrets].filter((secret) => secret.length >= 16 && output.includes(secret));
  const jwt = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/.exec(output)?.[0];
  return jwt ? [...leaked, jwt] : leaked;
}

export interface LaunchedSandbox {
  readonly launched: Launched;
  readonly e: SandboxEndpoints;
  /** Every subject and access token exchanged, for the log canary. */
  readonly secrets: Set<string>;
  /** What of `secrets`, or anything JWT-shaped, the sandbox's output holds: empty when nothing leaked. */
  leaked(): string[];
  exchange(
    subjectToken: string,
  ): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }>;
}

/** Launches the sandbox (with `env` added) for the calling test file; read the fields inside tests. */
export function useLaunchedSandbox(env: Record<string, string> = {}): LaunchedSandbox {
  const state = { secrets: new Set<string>() } as {
    launched: Launched;
    e: SandboxEndpoints;
    secrets: Set<string>;
  };
  beforeAll(async () => {
    state.launched = await launch({}, env);
    state.e = await whenUp(state.launched);
    trustCertificateAuthority(await readFile(state.e.caCertificate, 'utf8'));
  });
  afterAll(async () => {
    if (state.launched) await interrupt(state.launched);
  });
  return {
    get launched() {
      return state.launched;
    },
    get e() {
      return state.e;
    },
    secrets: state.secrets,
    leaked: () => leaksIn(state.launched.output(), state.secrets),
    async exchange(subjectToken) {
      state.secrets.add(subjectToken);
      const response = await fetch(state.e.broker.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: subjectToken,
          audience: state.e.demo.target,
          scope: state.e.demo.scope,
        }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      if (typeof body.access_token === 'string') state.secrets.add(body.access_token);
      return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
    },
  };
}

// What the JWT-caller end-to-end files share: the launched sandbox for the file (started before, stopped
// after), and an exchange of a JWT subject token for the demo target that remembers every token seen.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { interrupt, type Launched, launch, whenUp } from '../../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../../sandbox/lib/tls.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';

export interface LaunchedSandbox {
  readonly launched: Launched;
  readonly e: SandboxEndpoints;
  /** Every subject and access token exchanged, for the log canary. */
  readonly secrets: Set<string>;
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

// Token source `tokenFile` (issue 9; broker.md step 3): a projected token file such as Kubernetes
// writes for a pod (AZURE_FEDERATED_TOKEN_FILE, as AKS workload identity names it). Re-read whenever
// the file changes (the kubelet swaps it atomically before expiry), and otherwise served from memory.
import { readFile, stat } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { assertionFromJwt, type SourceAssertion, SourceError, type TokenSource } from './tokenSource.js';

export interface TokenFileSourceOptions {
  path: string;
  clock: Clock;
}

/** Never hand Entra a token with less than this left (the same floor as the other sources' cache). */
const MIN_REMAINING_MS = 60_000;

export const TOKEN_FILE_SOURCE = 'tokenFile';

/** Creates the source; it never names the file's path in an error (configuration names it). */
export function createTokenFileSource(options: TokenFileSourceOptions): TokenSource {
  let cached: { assertion: SourceAssertion; version: string } | undefined;
  const fail = (reason: string, cause?: unknown) => new SourceError(TOKEN_FILE_SOURCE, reason, { cause });
  return {
    name: TOKEN_FILE_SOURCE,
    async getAssertion() {
      let version: string;
      try {
        // stat follows the kubelet's `..data` symlink, so a swapped file shows as a new inode or mtime.
        const info = await stat(options.path);
        version = `${info.ino}:${info.mtimeMs}:${info.size}`;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw fail(
          code === 'ENOENT'
            ? 'the token file does not exist; is the projected volume mounted?'
            : `the token file cannot be read (${code ?? 'error'})`,
          error,
        );
      }
      if (cached?.version !== version) {
        const text = await readFile(options.path, 'utf8').catch((error: unknown) => {
          throw fail(
            `the token file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
            error,
          );
        });
        cached = { assertion: assertionFromJwt(TOKEN_FILE_SOURCE, text.trim()), version };
      }
      const remainingMs = cached.assertion.expiresAtMs - options.clock.now();
      if (remainingMs < MIN_REMAINING_MS) {
        throw fail(
          `the token in the file expires in ${Math.max(0, Math.floor(remainingMs / 1000))} s; is whatever writes it refreshing it?`,
        );
      }
      return cached.assertion;
    },
  };
}

// `node dist/sandbox/instance.js`: the settings to override come once, as a JSON object of strings, and a
// malformed one is refused without quoting it (it may hold a secret, such as a cache key).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const INSTANCE = path.join(import.meta.dirname, '..', '..', 'dist', 'sandbox', 'instance.js');

/** Runs the instance script until it exits; its exit code and what it wrote. */
function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [INSTANCE, ...args], {
      env: { ...process.env, SANDBOX_TIMERS: 'off', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('sandbox instance settings', () => {
  it('refuses malformed settings without quoting them', async () => {
    for (const settings of [
      '{"TOKEN_CACHE_KEYS": "1:secret-canary"',
      '["secret-canary"]',
      '{"A": 1, "B": "secret-canary"}',
    ]) {
      const { code, output } = await run(['/nonexistent-state', '0'], {
        SANDBOX_INSTANCE_SETTINGS: settings,
      });

      expect(code).toBe(1);
      expect(output).toContain('the settings to override must be a JSON object of strings');
      expect(output).not.toContain('secret-canary');
    }
  });

  it('refuses settings given both in the environment and on the command line', async () => {
    const { code, output } = await run(['/nonexistent-state', '0', '{}'], {
      SANDBOX_INSTANCE_SETTINGS: '{}',
    });

    expect(code).toBe(1);
    expect(output).toContain('give the settings to override once');
  });
});

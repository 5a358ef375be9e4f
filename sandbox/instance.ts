// `node dist/sandbox/instance.js <stateDir> <port> [settings JSON]`: one more broker instance beside a running sandbox, on
// the local Functions host with the sandbox broker's own settings (`broker-settings.json`), so several
// instances share one Azurite as function app instances share one storage account. Timers run on their
// schedule unless SANDBOX_TIMERS=off. The optional JSON object overrides settings (e.g. a refresh margin);
// SANDBOX_INSTANCE_SETTINGS carries it instead when set, as launchInstance does: a command line is visible
// to every user of the machine (`ps`), a process's environment only to its own. It serves the deployable
// bundle unless SANDBOX_APP_ROOT says otherwise (sandbox/lib/appRoot.ts). Prints "Instance is up <url>,
// serving <app>" when it serves; Ctrl-C stops it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalHost } from './host/localHost.js';
import { servedApp } from './lib/appRoot.js';
import { trustCertificateAuthority } from './lib/tls.js';

/**
 * The settings to override, from the environment variable or the command line (one of them). The parser's
 * own message is not passed on: it quotes the text, which may hold a secret.
 */
function settingOverrides(
  fromEnvironment: string | undefined,
  fromCommandLine: string | undefined,
): Record<string, string | null> {
  if (fromEnvironment !== undefined && fromCommandLine !== undefined)
    throw new Error(
      'give the settings to override once: in SANDBOX_INSTANCE_SETTINGS or on the command line',
    );
  const text = fromEnvironment ?? fromCommandLine;
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((value) => typeof value === 'string' || value === null);
  if (!valid)
    throw new Error('the settings to override must be a JSON object of strings (or null to remove one)');
  return parsed as Record<string, string | null>;
}

async function main(): Promise<void> {
  const [stateDir, portText, argumentOverrides] = process.argv.slice(2);
  const overrides = settingOverrides(process.env.SANDBOX_INSTANCE_SETTINGS, argumentOverrides);
  // The broker reads its settings from the host's environment, not the instance's: nothing keeps this.
  delete process.env.SANDBOX_INSTANCE_SETTINGS;
  const port = Number(portText);
  if (!stateDir || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error('usage: node dist/sandbox/instance.js <sandbox state dir> <port>');
  const app = servedApp(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const settings = JSON.parse(await readFile(path.join(stateDir, 'broker-settings.json'), 'utf8')) as Record<
    string,
    string
  >;
  // An override of null removes the setting.
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) delete settings[name];
    else settings[name] = value;
  }
  trustCertificateAuthority(await readFile(path.join(stateDir, 'ca.pem'), 'utf8'));
  const host = await startLocalHost({
    appRoot: app.root,
    port,
    env: settings,
    timers: process.env.SANDBOX_TIMERS !== 'off',
  });
  process.stdout.write(`Instance is up ${host.url}, serving ${app.name}\n`);
  const stop = () => {
    host.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`instance failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

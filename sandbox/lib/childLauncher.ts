// Runs the built launcher (what `npm start` runs) as a child process on free loopback ports, for the
// end-to-end tests and the benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SandboxEndpoints } from '../sandbox.js';

// Always the built launcher (what `npm start` runs), whether this file runs from source or from dist/.
const here = import.meta.dirname;
const root = here.split(path.sep).includes('dist')
  ? path.resolve(here, '..', '..', '..')
  : path.resolve(here, '..', '..');
const LAUNCHER = path.join(root, 'dist', 'sandbox', 'launcher.js');
export const PORT_NAMES = [
  'BROKER',
  'ENTRA',
  'GOOGLE',
  'BROKER_VM',
  'CALLER_VM',
  'STS',
  'COGNITO',
  'KUBERNETES',
  'GITHUB',
  'SPIRE_OIDC',
  'KEY_VAULT',
  'MANAGED_IDENTITY',
  'AZURITE_BLOB',
  'AZURITE_QUEUE',
  'AZURITE_TABLE',
] as const;

export interface Launched {
  child: ChildProcess;
  ports: Record<(typeof PORT_NAMES)[number], number>;
  stateDir: string;
  /** Everything the child wrote to stdout and stderr so far (read from its log file). */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Ports that were free a moment ago (bound to :0, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Spawns the launcher with its own state directory, on free ports unless some are given, with `env` added. */
export async function launch(
  fixed: Partial<Launched['ports']> = {},
  extraEnv: Record<string, string> = {},
): Promise<Launched> {
  if (!existsSync(LAUNCHER)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const free = await freePorts(PORT_NAMES.length);
  const ports = Object.fromEntries(
    PORT_NAMES.map((name, i) => [name, fixed[name] ?? (free[i] as number)]),
  ) as Launched['ports'];
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sandbox-test-'));
  // Tests fire the refresh timer themselves (POST /admin/functions/refreshTokens): a run on the clock
  // could land in the middle of one and warm a target it expects cold.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SANDBOX_TIMERS: 'off',
    ...extraEnv,
    SANDBOX_DIR: stateDir,
  };
  for (const name of PORT_NAMES) env[`SANDBOX_${name}_PORT`] = String(ports[name]);
  // A file, not a pipe: pipe writes are synchronous on Linux, so a busy parent would stall the child.
  const logPath = path.join(stateDir, 'launcher.log');
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [LAUNCHER], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ports, stateDir, output: () => readFileSync(logPath, 'utf8'), exited };
}

/** Waits for the launcher's "Sandbox is up" and returns endpoints.json. */
export async function whenUp(launched: Launched, timeoutMs = 45_000): Promise<SandboxEndpoints> {
  const deadline = Date.now() + timeoutMs;
  while (!launched.output().includes('Sandbox is up')) {
    if (launched.child.exitCode !== null)
      throw new Error(`launcher exited (${launched.child.exitCode}): ${launched.output()}`);
    if (Date.now() > deadline) throw new Error(`launcher did not come up: ${launched.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return JSON.parse(
    await readFile(path.join(launched.stateDir, 'endpoints.json'), 'utf8'),
  ) as SandboxEndpoints;
}

/** Sends Ctrl-C and waits for the exit code. */
export async function interrupt(launched: Launched): Promise<number | null> {
  if (launched.child.exitCode === null) launched.child.kill('SIGINT');
  return launched.exited;
}

const INSTANCE = path.join(root, 'dist', 'sandbox', 'instance.js');

export interface LaunchedInstance {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts one more broker instance (sandbox/instance.ts) beside a launched sandbox, on a free port with
 * the sandbox broker's settings (`settings` overriding some; null removes one), and resolves once it serves.
 */
export async function launchInstance(
  launched: Launched,
  settings: Record<string, string | null> = {},
  timeoutMs = 30_000,
  env: Record<string, string> = {},
): Promise<LaunchedInstance> {
  const [port] = await freePorts(1);
  const logPath = path.join(launched.stateDir, `instance-${port}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [INSTANCE, launched.stateDir, String(port)], {
    // The overrides go in the environment, not on the command line, which every user can read (`ps`).
    env: {
      ...process.env,
      SANDBOX_TIMERS: 'off',
      ...env,
      SANDBOX_INSTANCE_SETTINGS: JSON.stringify(settings),
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output = () => readFileSync(logPath, 'utf8');
  const deadline = Date.now() + timeoutMs;
  while (!output().includes('Instance is up')) {
    if (child.exitCode !== null) throw new Error(`instance exited (${child.exitCode}): ${output()}`);
    if (Date.now() > deadline) throw new Error(`instance did not come up: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url: `http://127.0.0.1:${port}`, output, exited };
}

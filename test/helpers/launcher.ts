// Runs the built launcher (what `npm start` runs) as a child process on free loopback ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';

const LAUNCHER = path.resolve(import.meta.dirname, '..', '..', 'dist', 'sandbox', 'launcher.js');
export const PORT_NAMES = [
  'BROKER',
  'ENTRA',
  'GOOGLE',
  'BROKER_VM',
  'CALLER_VM',
  'AZURITE_BLOB',
  'AZURITE_QUEUE',
  'AZURITE_TABLE',
] as const;

export interface Launched {
  child: ChildProcess;
  ports: Record<(typeof PORT_NAMES)[number], number>;
  stateDir: string;
  /** Everything the child wrote to stdout and stderr so far. */
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

/** Spawns the launcher with its own state directory, on free ports unless some are given. */
export async function launch(fixed: Partial<Launched['ports']> = {}): Promise<Launched> {
  if (!existsSync(LAUNCHER)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const free = await freePorts(PORT_NAMES.length);
  const ports = Object.fromEntries(
    PORT_NAMES.map((name, i) => [name, fixed[name] ?? (free[i] as number)]),
  ) as Launched['ports'];
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sandbox-test-'));
  const env: NodeJS.ProcessEnv = { ...process.env, SANDBOX_DIR: stateDir };
  for (const name of PORT_NAMES) env[`SANDBOX_${name}_PORT`] = String(ports[name]);
  const child = spawn(process.execPath, [LAUNCHER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ports, stateDir, output: () => output, exited };
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

// Runs Azurite, the real Azure Storage emulator, as a child process: in memory, telemetry off
// (with telemetry on it probes 169.254.169.254 and ignores SIGTERM; local-components.md §3).
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}

export interface RunningAzurite {
  ports: AzuritePorts;
  /** The well-known development account's connection string with explicit loopback endpoints. */
  connectionString: string;
  stop(): Promise<void>;
}

/** The development storage account key Azurite documents for every install; not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const azuriteEntry = (): string => {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
};

const portOpen = (port: number, host: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Starts Azurite on 127.0.0.1 and resolves once all three services accept connections. */
export async function startAzurite(ports: AzuritePorts, timeoutMs = 30_000): Promise<RunningAzurite> {
  const host = '127.0.0.1';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      azuriteEntry(),
      '--silent',
      '--disableTelemetry',
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      ...['blob', 'queue', 'table'].flatMap((service) => [
        `--${service}Host`,
        host,
        `--${service}Port`,
        String(ports[service as keyof AzuritePorts]),
      ]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  // A crash of the launcher must not leave Azurite behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`Azurite exited with code ${child.exitCode} before it was ready: ${stderr.trim()}`);
    }
    const open = await Promise.all(
      [ports.blob, ports.queue, ports.table].map((port) => portOpen(port, host)),
    );
    if (open.every(Boolean)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Azurite did not open ports ${Object.values(ports).join(', ')} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=http://${host}:${ports.blob}/${DEV_ACCOUNT}`,
    `QueueEndpoint=http://${host}:${ports.queue}/${DEV_ACCOUNT}`,
    `TableEndpoint=http://${host}:${ports.table}/${DEV_ACCOUNT}`,
  ].join(';');
  return { ports, connectionString, stop };
}

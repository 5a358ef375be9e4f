// Checks, before anything starts, that every port the sandbox needs is free, so a taken port fails
// fast with its name instead of half a sandbox starting.
import net from 'node:net';

/** Resolves when every named port can be bound on host; rejects naming each one that cannot. */
export async function assertPortsFree(
  ports: Readonly<Record<string, number>>,
  host = '127.0.0.1',
): Promise<void> {
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, host, () => probe.close(() => resolve(true)));
    });
    if (!free) taken.push(`${name} (${host}:${port})`);
  }
  if (taken.length > 0) {
    throw new Error(
      `port already in use: ${taken.join(', ')}. Stop whatever holds it, or set the matching SANDBOX_*_PORT variable.`,
    );
  }
}

// Keeps every test on loopback: SDKs are pointed at local stand-ins, and any socket to another
// address fails loudly instead of reaching the cloud metadata address or the internet.
import net from 'node:net';

process.env.GCE_METADATA_HOST ??= '127.0.0.1:1';
process.env.METADATA_SERVER_DETECTION ??= 'none';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.IDENTITY_ENDPOINT;
delete process.env.MSI_ENDPOINT;

const loopback = (host: string | undefined): boolean =>
  host === undefined ||
  host === 'localhost' ||
  host === '::1' ||
  host === '[::1]' ||
  /^127\.\d+\.\d+\.\d+$/.test(host);

type ConnectArgs = Parameters<net.Socket['connect']>;
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: ConnectArgs) {
  const [first, second] = args as unknown[];
  const options = typeof first === 'object' && first !== null ? (first as net.TcpNetConnectOpts) : undefined;
  const path = options && 'path' in options ? (options as { path?: string }).path : undefined;
  const host = options ? options.host : typeof second === 'string' ? second : undefined;
  const isUnixSocket = typeof first === 'string' || path !== undefined;
  if (!isUnixSocket && !loopback(host)) {
    throw new Error(`test isolation: refused a connection to ${String(host)} (only loopback is allowed)`);
  }
  return originalConnect.apply(this, args);
} as net.Socket['connect'];

// A throw-away certificate authority for the sandbox's https stand-ins (issue 3): one CA per run,
// leaf certificates for loopback names, never written outside .sandbox/.
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const signingAlgorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  /** Issues a server certificate for the given DNS names and IP addresses, valid for one day. */
  issue(names?: readonly string[]): Promise<PemPair>;
}

const toPem = (der: ArrayBuffer, label: string): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END ${label}-----\n`;

const serial = (): string => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex');

const exportKeyPem = async (key: webcrypto.CryptoKey): Promise<string> =>
  toPem(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

/** Creates a fresh CA whose certificate is valid for one day. */
export async function createCertificateAuthority(
  commonName = 'Entra token broker sandbox CA',
): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(signingAlgorithm, true, ['sign', 'verify'])) as KeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = await exportKeyPem(keys.privateKey);

  async function issue(names: readonly string[] = ['localhost', '127.0.0.1', '::1']): Promise<PemPair> {
    const leafKeys = (await webcrypto.subtle.generateKey(signingAlgorithm, true, [
      'sign',
      'verify',
    ])) as KeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${names[0] ?? 'localhost'}`,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((value) => ({
            type: /^[\d.]+$|:/.test(value) ? ('ip' as const) : ('dns' as const),
            value,
          })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    return { certPem: leaf.toString('pem'), keyPem: await exportKeyPem(leafKeys.privateKey) };
  }

  return { certPem: caCert.toString('pem'), keyPem, issue };
}

/**
 * Makes this process trust the sandbox CA in addition to the system roots, as
 * NODE_EXTRA_CA_CERTS would for a child process. Affects fetch, https and every SDK in the process.
 */
export function trustCertificateAuthority(caPem: string): void {
  const current = tls.getCACertificates('default');
  if (!current.includes(caPem)) tls.setDefaultCACertificates([...current, caPem]);
}

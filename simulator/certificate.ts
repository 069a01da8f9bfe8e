import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/** A TLS identity for a simulated cluster. */
export interface SimCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, colon hex upper case (as PVE shows it). */
  fingerprint: string;
}

/**
 * Makes a self-signed certificate valid for 127.0.0.1, ::1 and localhost. It is its own CA
 * (basicConstraints cA) so that clients can trust it either as a CA bundle or by fingerprint.
 */
export async function makeCertificate(commonName: string): Promise<SimCertificate> {
  const notBeforeDate = new Date(Date.now() - 86_400_000);
  const notAfterDate = new Date(Date.now() + 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const fingerprint = new X509Certificate(pems.cert).fingerprint256.toUpperCase();
  return { certPem: pems.cert, keyPem: pems.private, fingerprint };
}

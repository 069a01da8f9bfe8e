import { X509Certificate } from 'node:crypto';
import { type CertificateExtension, generate } from 'selfsigned';

/** A TLS identity for a simulated cluster's nodes. */
export interface SimCertificate {
  /** The node certificate followed by the CA that signed it (the chain the server presents). */
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER node certificate, colon hex upper case (as PVE shows it). */
  fingerprint: string;
}

/** The root CA of a simulated cluster (PVE's `pve-root-ca.pem`). */
export interface SimCertificateAuthority {
  certPem: string;
  keyPem: string;
}

const LOOPBACK_NAMES: CertificateExtension = {
  name: 'subjectAltName',
  altNames: [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ],
};

/** Makes a cluster's root CA, as `pvecm` does when a cluster is created (10 years). */
export async function makeCertificateAuthority(commonName: string): Promise<SimCertificateAuthority> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 86_400_000),
    notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

/**
 * Makes a node certificate signed by the cluster CA, valid for 127.0.0.1, ::1 and localhost (PVE's
 * `pve-ssl.pem`). Every call yields a new key and fingerprint, like a renewal by pveupdate; clients
 * that trust the CA keep working, clients that pinned the old fingerprint do not.
 */
export async function makeCertificate(
  commonName: string,
  ca: SimCertificateAuthority,
): Promise<SimCertificate> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 86_400_000),
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      LOOPBACK_NAMES,
    ],
    ca: { key: ca.keyPem, cert: ca.certPem },
  });
  const fingerprint = new X509Certificate(pems.cert).fingerprint256.toUpperCase();
  return { certPem: `${pems.cert.trim()}\n${ca.certPem.trim()}\n`, keyPem: pems.private, fingerprint };
}

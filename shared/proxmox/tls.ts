import { TLSSocket } from 'node:tls';
import { buildConnector, Pool } from 'undici';

/** A fingerprint shortened to its first and last 4 bytes, enough to tell certificates apart in a message. */
function abbreviate(fingerprint: string): string {
  const parts = fingerprint.split(':');
  return parts.length <= 8 ? fingerprint : `${parts.slice(0, 4).join(':')}…${parts.slice(-4).join(':')}`;
}

/** The peer certificate does not match the endpoint's pinned SHA-256 fingerprint. */
export class CertificatePinMismatchError extends Error {
  readonly code = 'ERR_PVE_CERT_PIN_MISMATCH';

  constructor(origin: string, expected: string, actual: string | undefined) {
    super(
      `certificate of ${origin} has SHA-256 ${abbreviate(actual ?? '(none)')}, expected the pinned ${abbreviate(expected)}`,
    );
    this.name = 'CertificatePinMismatchError';
  }
}

/** How one endpoint's certificate is verified. */
export type TlsVerification =
  | { mode: 'system' }
  | { mode: 'ca'; caPem: string }
  | { mode: 'pinned'; fingerprint: string }
  | { mode: 'insecure' };

/** Options of {@link createEndpointPool}. */
export interface EndpointPoolOptions {
  origin: string;
  tls: TlsVerification;
  connectTimeoutMs: number;
  /** Idle keep-alive time; PVE keeps idle connections for a while, so reuse them. */
  keepAliveTimeoutMs?: number;
  /** Sockets per endpoint (pveproxy serves up to 500 connections). */
  connections?: number;
}

/**
 * One keep-alive undici Pool for one Proxmox endpoint. Pinning disables chain verification and
 * instead compares the peer certificate's SHA-256 with the pin before any request is written;
 * TLS session reuse is off so that every new connection presents (and is checked against) its
 * certificate.
 */
export function createEndpointPool(options: EndpointPoolOptions): Pool {
  const { tls, origin } = options;
  const base = buildConnector({
    timeout: options.connectTimeoutMs,
    rejectUnauthorized: tls.mode === 'system' || tls.mode === 'ca',
    ...(tls.mode === 'ca' ? { ca: tls.caPem } : {}),
    ...(tls.mode === 'pinned' ? { maxCachedSessions: 0 } : {}),
  });
  const connect: buildConnector.connector =
    tls.mode !== 'pinned'
      ? base
      : (opts, callback) => {
          base(opts, (...args) => {
            const [error, socket] = args;
            if (error !== null) {
              callback(error, null);
              return;
            }
            const actual =
              socket instanceof TLSSocket ? socket.getPeerCertificate().fingerprint256 : undefined;
            if (actual === undefined || actual.toUpperCase() !== tls.fingerprint.toUpperCase()) {
              socket.destroy();
              callback(new CertificatePinMismatchError(origin, tls.fingerprint, actual), null);
              return;
            }
            callback(null, socket);
          });
        };
  return new Pool(origin, {
    connect,
    connections: options.connections ?? 8,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
    pipelining: 1,
  });
}

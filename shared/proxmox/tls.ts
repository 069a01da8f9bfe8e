import { TLSSocket } from 'node:tls';
import { buildConnector, Pool } from 'undici';
import {
  CertificatePinMismatchError,
  type EndpointTransportOptions,
  pinMatches,
  type TlsVerification,
} from '#shared/proxmox/transport.ts';

export { CertificatePinMismatchError, type TlsVerification };

/** Options of {@link createEndpointPool}. */
export type EndpointPoolOptions = EndpointTransportOptions;

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
            if (!pinMatches(tls.fingerprint, actual)) {
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

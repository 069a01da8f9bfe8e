/**
 * What the Proxmox client needs from an HTTP stack, so that the request building, error mapping,
 * failover, retries and response parsing above it are shared by every transport: undici pools for
 * the sync (tls.ts) and plain `node:https` for the small power-action bundle (https-transport.ts).
 * This module imports no HTTP library.
 */

/** One request as the client sends it. */
export interface TransportRequest {
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Max time from sending the request to the response headers, in ms. */
  headersTimeout: number;
  /** Max time the response body may stall between two chunks, in ms. */
  bodyTimeout: number;
}

/** The part of a response the client reads. */
export interface HttpResponse {
  statusCode: number;
  statusText?: string;
  body: { text(): Promise<string> };
}

/** The HTTP connection(s) to one endpoint (an undici Pool, a keep-alive https agent, or a test double). */
export interface HttpDispatcher {
  request(options: TransportRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** How one endpoint's certificate is verified. */
export type TlsVerification =
  | { mode: 'system' }
  | { mode: 'ca'; caPem: string }
  | { mode: 'pinned'; fingerprint: string }
  | { mode: 'insecure' };

/** Options of one endpoint's transport. */
export interface EndpointTransportOptions {
  origin: string;
  tls: TlsVerification;
  connectTimeoutMs: number;
  /** Idle keep-alive time; PVE keeps idle connections for a while, so reuse them. */
  keepAliveTimeoutMs?: number;
  /** Sockets per endpoint (pveproxy serves up to 500 connections). */
  connections?: number;
}

/** Creates the transport of one endpoint. */
export type TransportFactory = (options: EndpointTransportOptions) => HttpDispatcher;

/**
 * Error codes a transport gives its failures so the client can type them. The undici transport
 * keeps undici's own codes (UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT);
 * others use these. Connection and TLS failures keep Node's codes (ECONNREFUSED, CERT_*, ...).
 */
export const TRANSPORT_ERROR_CODES = {
  connectTimeout: 'ERR_PVE_CONNECT_TIMEOUT',
  headersTimeout: 'ERR_PVE_HEADERS_TIMEOUT',
  bodyTimeout: 'ERR_PVE_BODY_TIMEOUT',
} as const;

/** A transport failure with a code from {@link TRANSPORT_ERROR_CODES}. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: (typeof TRANSPORT_ERROR_CODES)[keyof typeof TRANSPORT_ERROR_CODES],
    message: string,
  ) {
    super(message);
  }
}

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

/** Whether a peer certificate's SHA-256 fingerprint matches the pin (case-insensitive). */
export function pinMatches(pinned: string, actual: string | undefined): boolean {
  return actual !== undefined && actual.toUpperCase() === pinned.toUpperCase();
}

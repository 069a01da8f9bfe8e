import { Agent, type AgentOptions, request as httpsRequest, type RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import {
  CertificatePinMismatchError,
  type EndpointTransportOptions,
  type HttpDispatcher,
  type HttpResponse,
  pinMatches,
  TRANSPORT_ERROR_CODES,
  TransportError,
  type TransportRequest,
} from '#shared/proxmox/transport.ts';

type ConnectCallback = (error: Error | null, socket?: Socket) => void;

/**
 * A keep-alive `node:https` agent for one endpoint whose connections are only handed to requests
 * once the TLS handshake finished within the connect timeout and, when pinned, the peer
 * certificate's SHA-256 matched the pin: nothing (no Authorization header) is written to a peer
 * that failed verification. TLS sessions are not resumed, so every connection presents its
 * certificate.
 */
class EndpointAgent extends Agent {
  constructor(
    agentOptions: AgentOptions,
    private readonly endpoint: EndpointTransportOptions,
  ) {
    super(agentOptions);
  }

  // Node's Agent takes the socket from the callback when createConnection returns nothing.
  override createConnection(
    options: RequestOptions,
    onCreate?: (error: Error | null, stream: Duplex) => void,
  ): undefined {
    if (onCreate === undefined) throw new TypeError('the agent connects only with a callback');
    const callback = onCreate as ConnectCallback;
    const { tls, origin, connectTimeoutMs } = this.endpoint;
    let done = false;
    const finish = (error: Error | null, socket?: Socket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      callback(error, socket);
    };
    const socket = tlsConnect({
      ...(options as ConnectionOptions),
      rejectUnauthorized: tls.mode === 'system' || tls.mode === 'ca',
      ...(tls.mode === 'ca' ? { ca: tls.caPem } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      finish(
        new TransportError(
          TRANSPORT_ERROR_CODES.connectTimeout,
          `connecting to ${origin} took longer than ${connectTimeoutMs} ms`,
        ),
      );
    }, connectTimeoutMs);
    socket.once('error', (error) => finish(error));
    socket.once('secureConnect', () => {
      if (tls.mode === 'pinned') {
        const actual = socket.getPeerCertificate().fingerprint256;
        if (!pinMatches(tls.fingerprint, actual)) {
          socket.destroy();
          finish(new CertificatePinMismatchError(origin, tls.fingerprint, actual));
          return;
        }
      }
      finish(null, socket);
    });
    return undefined;
  }
}

/**
 * One Proxmox endpoint over `node:https` with keep-alive: the transport of the power-action path,
 * a few kilobytes instead of undici's ~700 KB. Same TLS modes (CA bundle, fingerprint pin,
 * system CAs, insecure) and the same timeouts as the undici pool: connect (TCP + TLS), headers
 * (from the request being written to the response head) and body (longest stall between chunks).
 */
export function createHttpsEndpoint(options: EndpointTransportOptions): HttpDispatcher {
  const agent = new EndpointAgent(
    {
      keepAlive: true,
      maxSockets: options.connections ?? 8,
      // Idle sockets are closed after this; busy ones are governed by the per-request timers.
      timeout: options.keepAliveTimeoutMs ?? 10_000,
      scheduling: 'lifo',
    },
    options,
  );
  const base = new URL(options.origin);

  const request = (req: TransportRequest): Promise<HttpResponse> =>
    new Promise<HttpResponse>((resolve, reject) => {
      let headersTimer: NodeJS.Timeout | undefined;
      const outgoing = httpsRequest({
        agent,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port === '' ? 443 : Number(base.port),
        path: req.path,
        method: req.method,
        headers: req.headers,
      });
      outgoing.once('socket', () => {
        // The agent hands over only connected, verified sockets: the headers wait starts here.
        headersTimer = setTimeout(() => {
          outgoing.destroy(
            new TransportError(
              TRANSPORT_ERROR_CODES.headersTimeout,
              `no response headers within ${req.headersTimeout} ms`,
            ),
          );
        }, req.headersTimeout);
      });
      outgoing.once('error', (error) => {
        clearTimeout(headersTimer);
        reject(error);
      });
      outgoing.once('response', (res) => {
        clearTimeout(headersTimer);
        res.setEncoding('utf8');
        const text = new Promise<string>((resolveBody, rejectBody) => {
          let body = '';
          let stallTimer: NodeJS.Timeout | undefined;
          const arm = (): void => {
            clearTimeout(stallTimer);
            stallTimer = setTimeout(() => {
              res.destroy(
                new TransportError(
                  TRANSPORT_ERROR_CODES.bodyTimeout,
                  `response body stalled for ${req.bodyTimeout} ms`,
                ),
              );
            }, req.bodyTimeout);
          };
          arm();
          res.on('data', (chunk: string) => {
            body += chunk;
            arm();
          });
          res.once('end', () => {
            clearTimeout(stallTimer);
            resolveBody(body);
          });
          res.once('error', (error) => {
            clearTimeout(stallTimer);
            rejectBody(error);
          });
          res.once('close', () => {
            clearTimeout(stallTimer);
            if (!res.complete)
              rejectBody(Object.assign(new Error('response ended early'), { code: 'ECONNRESET' }));
          });
        });
        // The client always reads the body; this only keeps an unread failure from going unhandled.
        text.catch(() => undefined);
        resolve({
          statusCode: res.statusCode ?? 0,
          ...(res.statusMessage === undefined ? {} : { statusText: res.statusMessage }),
          body: { text: () => text },
        });
      });
      outgoing.end();
    });

  return {
    request,
    async close() {
      agent.destroy();
    },
  };
}

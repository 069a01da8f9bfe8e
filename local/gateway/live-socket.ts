import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyResultV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { type WebSocket, WebSocketServer } from 'ws';
import type { LiveSocketEvent } from '#functions/live/socket.ts';
import { parseQueryString } from './event.ts';
import type { GatewayResponse } from './server.ts';

/**
 * The WebSocket API, locally: `ws://…/ws` upgrades run the same REQUEST authorizer and `$connect`
 * handler as API Gateway (refused: a bare 401 before the upgrade), frames go to `$default`, a close
 * to `$disconnect`; the management API (`POST|GET|DELETE /@connections/{id}`) delivers the
 * handlers' posts, answering an unknown id with 410 `GoneException` as API Gateway does. API
 * Gateway's limits are kept and configurable: 128 KB messages, 10-minute idle cut, 2-hour duration.
 */

export type LiveAuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
) => Promise<APIGatewayAuthorizerResult>;
export type LiveSocketHandler = (event: LiveSocketEvent) => Promise<APIGatewayProxyResultV2>;

/** Options of {@link createLiveSocketServer}. */
export interface LiveSocketOptions {
  /** The handlers, loaded when first needed. */
  readonly handlers: () => Promise<{ authorize: LiveAuthorizerHandler; socket: LiveSocketHandler }>;
  /** @default '/ws' */
  readonly path?: string;
  /** @default 10 minutes (API Gateway's idle timeout) */
  readonly idleTimeoutMs?: number;
  /** @default 2 hours (API Gateway's connection duration) */
  readonly maxDurationMs?: number;
  /** @default 128 KB (API Gateway's message size) */
  readonly maxPayloadBytes?: number;
  readonly log?: (line: string) => void;
}

/** The WebSocket part of the local gateway. */
export interface LiveSocketServer {
  readonly path: string;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Answers `/@connections/{id}` requests; null for other paths. */
  handleManagement(method: string, path: string, body: Buffer): GatewayResponse | null;
  /** Open connections (tests and the status line). */
  connectionCount(): number;
  close(): Promise<void>;
}

const STAGE = 'prod';
const gone = (): GatewayResponse => ({
  status: 410,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' },
  body: Buffer.from(JSON.stringify({ message: 'Gone' })),
});

function refuse(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

function headerRecord(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

interface OpenConnection {
  readonly ws: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  queue: Promise<void>;
  timers: NodeJS.Timeout[];
  idle?: NodeJS.Timeout;
}

export function createLiveSocketServer(options: LiveSocketOptions): LiveSocketServer {
  const path = options.path ?? '/ws';
  const idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
  const maxDurationMs = options.maxDurationMs ?? 7_200_000;
  const log = options.log ?? (() => {});
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes ?? 128 * 1024,
    handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
  });
  const open = new Map<string, OpenConnection>();

  const event = (
    routeKey: string,
    eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
    connectionId: string,
    extra: Partial<LiveSocketEvent> & { authorizer?: unknown } = {},
  ): LiveSocketEvent => {
    const { authorizer, ...rest } = extra;
    const now = Date.now();
    return {
      requestContext: {
        routeKey,
        eventType,
        connectionId,
        messageId: randomBytes(8).toString('base64'),
        extendedRequestId: randomBytes(8).toString('base64'),
        requestTime: new Date(now).toUTCString(),
        messageDirection: 'IN',
        stage: STAGE,
        connectedAt: open.get(connectionId)?.connectedAt ?? now,
        requestTimeEpoch: now,
        requestId: randomBytes(8).toString('base64'),
        domainName: 'localhost',
        apiId: 'local',
        ...(authorizer === undefined ? {} : { authorizer }),
      },
      isBase64Encoded: false,
      ...rest,
    } as LiveSocketEvent;
  };

  const resetIdle = (connectionId: string, connection: OpenConnection) => {
    connection.lastActiveAt = Date.now();
    if (connection.idle !== undefined) clearTimeout(connection.idle);
    connection.idle = setTimeout(() => {
      log(`live ${connectionId} idle for ${idleTimeoutMs} ms: closed`);
      connection.ws.close(1001, 'Going away');
    }, idleTimeoutMs);
  };

  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const { authorize, socket: handler } = await options.handlers();
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const headers = headerRecord(request);
    const query = parseQueryString(queryAt === -1 ? '' : target.slice(queryAt + 1));
    const connectionId = randomBytes(12).toString('base64').replace(/[+/=]/g, 'A');
    let result: APIGatewayAuthorizerResult;
    try {
      result = await authorize({
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:local:000000000000:local/${STAGE}/$connect`,
        headers,
        multiValueHeaders: null,
        queryStringParameters: query ?? null,
        multiValueQueryStringParameters: null,
        path,
        httpMethod: 'GET',
        resource: '$connect',
        pathParameters: null,
        stageVariables: null,
        requestContext: event('$connect', 'CONNECT', connectionId).requestContext,
      } as unknown as APIGatewayRequestAuthorizerEvent);
    } catch {
      refuse(socket, 401, 'Unauthorized');
      return;
    }
    if (
      !result.policyDocument.Statement.some(
        (statement) => 'Effect' in statement && statement.Effect === 'Allow',
      )
    ) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    const connected = await handler(
      event('$connect', 'CONNECT', connectionId, {
        authorizer: result.context,
        headers,
      } as Partial<LiveSocketEvent>),
    );
    const status = typeof connected === 'object' && connected !== null ? (connected.statusCode ?? 200) : 200;
    if (status !== 200) {
      refuse(socket, status === 401 ? 401 : 403, status === 401 ? 'Unauthorized' : 'Forbidden');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection: OpenConnection = {
        ws,
        connectedAt: Date.now(),
        lastActiveAt: Date.now(),
        queue: Promise.resolve(),
        timers: [],
      };
      open.set(connectionId, connection);
      resetIdle(connectionId, connection);
      connection.timers.push(setTimeout(() => ws.close(1001, 'Going away'), maxDurationMs));
      ws.on('message', (data, isBinary) => {
        resetIdle(connectionId, connection);
        const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
        connection.queue = connection.queue
          .then(() =>
            handler(event('$default', 'MESSAGE', connectionId, { body, isBase64Encoded: isBinary })),
          )
          .then(() => undefined)
          .catch((error: unknown) =>
            log(`live $default failed: ${error instanceof Error ? error.message : String(error)}`),
          );
      });
      ws.on('close', () => {
        for (const timer of connection.timers) clearTimeout(timer);
        if (connection.idle !== undefined) clearTimeout(connection.idle);
        open.delete(connectionId);
        connection.queue
          .then(() => handler(event('$disconnect', 'DISCONNECT', connectionId)))
          .catch((error: unknown) =>
            log(`live $disconnect failed: ${error instanceof Error ? error.message : String(error)}`),
          );
      });
    });
  };

  return {
    path,
    handleUpgrade(request, socket, head) {
      upgrade(request, socket, head).catch((error: unknown) => {
        log(
          `live upgrade failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        refuse(socket, 500, 'Internal Server Error');
      });
    },
    handleManagement(method, requestPath, body) {
      const match = /^\/(?:prod\/)?@connections\/([^/]+)$/.exec(requestPath);
      if (match?.[1] === undefined) return null;
      const connectionId = decodeURIComponent(match[1]);
      const connection = open.get(connectionId);
      if (connection === undefined) return gone();
      if (method === 'POST') {
        connection.lastActiveAt = Date.now();
        connection.ws.send(body.toString('utf8'));
        return { status: 200, headers: {}, body: Buffer.alloc(0) };
      }
      if (method === 'DELETE') {
        connection.ws.close(1000, 'Closed by the server');
        return { status: 204, headers: {}, body: Buffer.alloc(0) };
      }
      if (method === 'GET') {
        const info = {
          connectedAt: new Date(connection.connectedAt).toISOString(),
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          identity: { sourceIp: '127.0.0.1' },
        };
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify(info)),
        };
      }
      return { status: 405, headers: {}, body: Buffer.alloc(0) };
    },
    connectionCount: () => open.size,
    async close() {
      for (const connection of open.values()) connection.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

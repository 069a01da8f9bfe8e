import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { JSONWebKeySet } from 'jose';
import { buildHttpApiEvent, newRequestId } from '#local/gateway/event.ts';
import { createJwtAuthorizer } from '#local/gateway/jwt-authorizer.ts';
import { createRouteMatcher } from '#local/gateway/route-matcher.ts';
import { API_CORS, notFoundRoute, type RouteDefinition, routeKey } from '#shared/http/routes.ts';
import { docsAsset } from './api-docs.ts';
import type { LiveSocketServer } from './live-socket.ts';

/**
 * The local API gateway: a node:http server that behaves like the deployed HTTP API for the route
 * table — same routes and path parameters, the JWT authorizer's checks and its bare 401, payload
 * 2.0 events, the integration response rules, CORS preflight answered by the gateway — and calls
 * each route's handler module in process. It listens on loopback only.
 */

/** A payload 2.0 Lambda handler as the gateway calls it. */
export type GatewayLambdaHandler = (event: never, context: Context) => unknown;

/** The issuer whose tokens the authorizer accepts (the local issuer satisfies it). */
export interface GatewayIssuer {
  readonly issuerUrl: string;
  jwks(): JSONWebKeySet;
}

/** CORS settings, as the HTTP API's `corsPreflight`. */
export interface GatewayCorsOptions {
  /** Allowed origins; `*` allows any. */
  readonly allowOrigins: readonly string[];
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** Options of {@link startLocalGateway}. */
export interface LocalGatewayOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Loopback address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  readonly routes: readonly RouteDefinition[];
  /** Handlers by route id (tests); routes not in it load `route.handler`'s `handler` export lazily. */
  readonly handlers?: Readonly<Record<string, GatewayLambdaHandler>>;
  readonly issuer: GatewayIssuer;
  /** Accepted audiences (`aud`, or `client_id` when `aud` is absent). */
  readonly audience: string | readonly string[];
  /** @default allow any origin with the API's methods and headers */
  readonly cors?: GatewayCorsOptions;
  /** Integration timeout, like the HTTP API's 30 s. @default 30000 */
  readonly integrationTimeoutMs?: number;
  /** Project root that `route.handler` paths are relative to. @default this repository */
  readonly projectRoot?: string;
  /** Receives one line per request (method, path, status, ms) and handler failures. */
  readonly log?: (line: string) => void;
  /**
   * Answers requests that match no API route (the portal's files, the local OIDC endpoints); `null`
   * falls through to the API's 404. Called in order.
   */
  readonly sites?: readonly GatewaySite[];
  /**
   * The live updates' WebSocket API (`ws://…/ws` and the management API `/@connections/{id}`);
   * absent: upgrades are refused.
   */
  readonly live?: LiveSocketServer;
}

/** A non-API request as a {@link GatewaySite} sees it. */
export interface GatewaySiteRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** A responder for paths outside the route table. */
export type GatewaySite = (request: GatewaySiteRequest) => Promise<GatewayResponse | null>;

/** A running gateway. */
export interface LocalGateway {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const DEFAULT_PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What the gateway writes back. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: Buffer;
}

const jsonMessage = (status: number, message: string): GatewayResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message })),
});

/** The Lambda handler's result turned into an HTTP response, with payload 2.0's rules. */
export function integrationResponse(result: unknown): GatewayResponse {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const structured: Record<string, unknown> = { ...result };
    const status = structured.statusCode;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
      return jsonMessage(500, 'Internal Server Error');
    }
    const headers: Record<string, string> = {};
    if (typeof structured.headers === 'object' && structured.headers !== null) {
      for (const [name, value] of Object.entries(structured.headers)) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
          headers[name.toLowerCase()] = String(value);
        }
      }
    }
    const cookies = Array.isArray(structured.cookies)
      ? structured.cookies.filter((cookie): cookie is string => typeof cookie === 'string')
      : undefined;
    const rawBody = typeof structured.body === 'string' ? structured.body : '';
    const body =
      structured.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
    return { status, headers, body, ...(cookies === undefined ? {} : { cookies }) };
  }
  // Not a structured answer: API Gateway assumes 200 and a JSON body.
  const text = result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) };
}

function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** A Lambda context for an in-process invocation (deadline in epoch milliseconds). */
export function createLambdaContext(functionName: string, requestId: string, deadline: number): Context {
  const unsupported = (): never => {
    throw new Error('callback-style completion is not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** CORS response headers for an actual (non-preflight) request. */
function corsHeaders(origin: string | undefined, cors: Required<GatewayCorsOptions>): Record<string, string> {
  if (origin === undefined) return {};
  const any = cors.allowOrigins.includes('*');
  if (!any && !cors.allowOrigins.includes(origin)) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': any ? '*' : origin };
  if (!any) headers.vary = 'origin';
  if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(',');
  return headers;
}

/** Starts the gateway; resolves once it listens. */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.integrationTimeoutMs ?? 30_000;
  const projectRoot = options.projectRoot ?? DEFAULT_PROJECT_ROOT;
  const log = options.log ?? (() => {});
  const cors: Required<GatewayCorsOptions> = {
    allowOrigins: options.cors?.allowOrigins ?? ['*'],
    allowMethods: options.cors?.allowMethods ?? API_CORS.allowMethods,
    allowHeaders: options.cors?.allowHeaders ?? API_CORS.allowHeaders,
    exposeHeaders: options.cors?.exposeHeaders ?? API_CORS.exposeHeaders,
    maxAgeSeconds: options.cors?.maxAgeSeconds ?? API_CORS.maxAgeSeconds,
  };
  const matchRoute = createRouteMatcher(options.routes);
  const authorize = createJwtAuthorizer({
    issuer: options.issuer.issuerUrl,
    audience: typeof options.audience === 'string' ? [options.audience] : options.audience,
    jwks: options.issuer.jwks(),
  });
  const loaded = new Map<string, Promise<GatewayLambdaHandler>>();

  /** A route of the table, or the catch-all: what the gateway invokes. */
  type Invoked = Pick<RouteDefinition, 'id' | 'handler'>;

  const handlerFor = (route: Invoked): Promise<GatewayLambdaHandler> => {
    const injected = options.handlers?.[route.id];
    if (injected !== undefined) return Promise.resolve(injected);
    let pending = loaded.get(route.id);
    if (pending === undefined) {
      pending = import(pathToFileURL(`${projectRoot}/${route.handler}`).href).then(
        (module: Record<string, unknown>) => {
          const handler = module.handler;
          if (typeof handler !== 'function') throw new Error(`${route.handler} exports no handler function`);
          return handler as GatewayLambdaHandler;
        },
      );
      // A failed import is retried on the next request (the file may be being written).
      pending.catch(() => loaded.delete(route.id));
      loaded.set(route.id, pending);
    }
    return pending;
  };

  const invoke = async (route: Invoked, event: unknown, requestId: string): Promise<GatewayResponse> => {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<GatewayResponse>((resolve) => {
      timer = setTimeout(() => resolve(jsonMessage(503, 'Service Unavailable')), timeoutMs);
    });
    const run = async (): Promise<GatewayResponse> => {
      try {
        const handler = await handlerFor(route);
        const context = createLambdaContext(route.id, requestId, deadline);
        return integrationResponse(await (handler as (e: unknown, c: Context) => unknown)(event, context));
      } catch (error) {
        log(
          `handler ${route.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        return jsonMessage(500, 'Internal Server Error');
      }
    };
    try {
      return await Promise.race([run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const handle = async (request: IncomingMessage): Promise<GatewayResponse> => {
    const method = (request.method ?? 'GET').toUpperCase();
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;

    if (
      method === 'OPTIONS' &&
      origin !== undefined &&
      request.headers['access-control-request-method'] !== undefined
    ) {
      const allowed = corsHeaders(origin, cors);
      const headers: Record<string, string> = { ...allowed };
      if (allowed['access-control-allow-origin'] !== undefined) {
        headers['access-control-allow-methods'] = cors.allowMethods.join(',');
        headers['access-control-allow-headers'] = cors.allowHeaders.join(',');
        headers['access-control-max-age'] = String(cors.maxAgeSeconds);
        delete headers['access-control-expose-headers'];
      }
      return { status: 204, headers, body: Buffer.alloc(0) };
    }

    if (options.live !== undefined && rawPath.includes('@connections/')) {
      const managed = options.live.handleManagement(
        method,
        rawPath,
        (await readBody(request)) ?? Buffer.alloc(0),
      );
      if (managed !== null) return managed;
    }
    if (method === 'GET') {
      const docs = await docsAsset(rawPath);
      if (docs !== null) return docs;
    }
    const match = matchRoute(method, rawPath);
    const body = await readBody(request);
    if (body === null) return jsonMessage(413, 'Request Entity Too Large');
    if (match === null) {
      const siteRequest: GatewaySiteRequest = {
        method,
        path: rawPath,
        query: new URLSearchParams(rawQueryString),
        headers: request.headers,
        body,
      };
      for (const site of options.sites ?? []) {
        const answer = await site(siteRequest);
        if (answer !== null) return answer;
      }
      // A path no route or site answers: the catch-all function, as API Gateway's `$default` route
      // invokes it (no authorizer), so the answer is the deployed one.
      const requestId = newRequestId();
      const event = buildHttpApiEvent({
        method,
        rawPath,
        rawQueryString,
        headers: request.headers,
        body,
        routeKey: notFoundRoute.routeKey,
        sourceIp: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        requestId,
      });
      const response = await invoke(notFoundRoute, event, requestId);
      response.headers['apigw-requestid'] = requestId;
      Object.assign(response.headers, corsHeaders(origin, cors));
      return response;
    }

    let jwt: { claims: Record<string, unknown>; scopes: string[] | null } | undefined;
    if (match.route.auth === 'jwt') {
      const authorization = request.headers.authorization;
      const result = await authorize(authorization);
      if (!result.ok) {
        log(`${method} ${rawPath} refused by the authorizer: ${result.reason}`);
        return jsonMessage(401, 'Unauthorized');
      }
      jwt = { claims: result.claims, scopes: result.scopes };
    }
    const requestId = newRequestId();
    const event = buildHttpApiEvent({
      method,
      rawPath,
      rawQueryString,
      headers: request.headers,
      body,
      routeKey: routeKey(match.route),
      pathParameters: match.pathParameters,
      sourceIp: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      requestId,
      ...(jwt === undefined ? {} : { jwt }),
    });
    const response = await invoke(match.route, event, requestId);
    response.headers['apigw-requestid'] = requestId;
    Object.assign(response.headers, corsHeaders(origin, cors));
    return response;
  };

  const write = (response: ServerResponse, result: GatewayResponse): void => {
    for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
    if (result.cookies !== undefined && result.cookies.length > 0)
      response.setHeader('set-cookie', result.cookies);
    response.setHeader('content-length', String(result.body.length));
    response.writeHead(result.status);
    response.end(result.body);
  };

  const server = createServer((request, response) => {
    const started = Date.now();
    handle(request)
      .catch((error: unknown) => {
        log(`gateway error: ${error instanceof Error ? error.message : String(error)}`);
        return jsonMessage(500, 'Internal Server Error');
      })
      .then((result) => {
        write(response, result);
        log(`${request.method} ${request.url} ${result.status} ${Date.now() - started}ms`);
      })
      .catch(() => response.destroy());
  });

  server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '/').split('?')[0];
    if (options.live === undefined || path !== options.live.path) {
      socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    options.live.handleUpgrade(request, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: async () => {
      await options.live?.close();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

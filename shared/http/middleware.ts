import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { toErrorResponse, UnauthorizedError, unknownRouteError } from '#shared/http/errors.ts';
import {
  type Caller,
  callerFromClaims,
  claimsFromEvent,
  groupsFromEvent,
  type IdentityOptions,
  identityOptionsFromEnv,
} from '#shared/http/identity.ts';
import { type HttpResult, toHttpResponse } from '#shared/http/response.ts';

export type { HttpResult } from '#shared/http/response.ts';

import { type AuditEntryInput, auditResultOf, auditTargetFromRequest } from '#shared/audit/audit-entry.ts';
import { type AuditPort, recordAuditSafely } from '#shared/audit/audit-port.ts';
import { defaultAuditPort } from '#shared/audit/wiring.ts';
import { audienceOf } from '#shared/http/disclosure.ts';
import type { RouteAuth, RouteDefinition, RouteRequestSchemas } from '#shared/http/routes.ts';
import { objectShape } from '#shared/http/schema-introspection.ts';
import { validateRequest } from '#shared/http/validation.ts';
import { logger, metrics, withInvocationLogger } from '#shared/observability/powertools.ts';

/**
 * THE middy stack of every HTTP handler: Powertools logger/metrics (no tracer: the platform's Active
 * tracing records the invocation, see observability/tracer.ts), validation of path,
 * query and body against the route's schemas, the caller from the JWT claims, the handler, and one
 * `onError` mapping every error to the API's error shape.
 */

/** Metric names emitted by every HTTP handler (dimension: `service` only). */
export const API_METRICS = {
  requests: 'ApiRequests',
  clientErrors: 'ApiClientErrors',
  serverErrors: 'ApiServerErrors',
} as const;

// Read once per cold start, in this adapter, never in pure code.
const envIdentityOptions = identityOptionsFromEnv(process.env);

type Output<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a route handler receives: validated input, the caller, the raw event. */
export interface HttpRequest<
  TRequest extends RouteRequestSchemas = RouteRequestSchemas,
  TAuth extends RouteAuth = RouteAuth,
> {
  readonly path: Output<TRequest['path']>;
  readonly query: Output<TRequest['query']>;
  readonly body: Output<TRequest['body']>;
  /** Always set on `jwt` routes; `null` on public routes. */
  readonly caller: TAuth extends 'jwt' ? Caller : Caller | null;
  /** Lower-cased request headers. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly event: APIGatewayProxyEventV2;
  readonly context: Context;
}

/** A route handler: validated request in, {@link HttpResult} out; throws `HttpError`s for 4xx. */
export type RouteHandler<TRequest extends RouteRequestSchemas, TAuth extends RouteAuth> = (
  request: HttpRequest<TRequest, TAuth>,
) => Promise<HttpResult>;

/** Options of {@link httpHandler}. */
export interface HttpHandlerOptions<TRequest extends RouteRequestSchemas, TAuth extends RouteAuth> {
  readonly route: RouteDefinition<TRequest, TAuth>;
  readonly handler: RouteHandler<TRequest, TAuth>;
  /** Overrides the identity options read from the environment (tests). */
  readonly identity?: IdentityOptions;
  /**
   * Where state-changing requests (POST, PUT, DELETE) are recorded. @default the audit trail of
   * the environment (`AUDIT_TABLE`); when none is configured, nothing is recorded.
   */
  readonly audit?: () => AuditPort | undefined;
}

/** The Lambda handler type every HTTP entry point exports. */
export type HttpLambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Resolves the caller of a request: required on `jwt` routes (401 when the claims name nobody),
 * `null` on public routes.
 */
export function resolveCaller(auth: RouteAuth, event: unknown, options: IdentityOptions): Caller | null {
  const claims = claimsFromEvent(event);
  if (auth === 'public') return null;
  if (claims === undefined) {
    // Only reachable when a route is deployed without its authorizer: refuse rather than guess.
    throw new UnauthorizedError('Authentication required');
  }
  return callerFromClaims(claims, options, groupsFromEvent(event, claims, options.groupsClaim));
}

/** The caller of a request for the error answer's audience, or `null` when it names nobody usable. */
function callerForErrorAnswer(auth: RouteAuth, event: unknown, options: IdentityOptions): Caller | null {
  try {
    return resolveCaller(auth, event, options);
  } catch {
    return null;
  }
}

/**
 * Maps every error to the API's error shape, once; logs the detail of unexpected ones. What the
 * body discloses depends on the caller's role (`shared/http/disclosure.ts`): admins get internal
 * detail, everyone the request id.
 */
function httpErrorMapper(
  auth: RouteAuth,
  identity: IdentityOptions,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    name: 'httpErrorMapper',
    onError: function mapHttpError(request) {
      const mapped = toErrorResponse(request.error, {
        audience: audienceOf(callerForErrorAnswer(auth, request.event, identity)),
        requestId: request.event.requestContext?.requestId,
      });
      if (mapped.unexpected) {
        logger.error('Request failed', { status: mapped.status, error: request.error });
        metrics.addMetric(API_METRICS.serverErrors, MetricUnit.Count, 1);
      } else {
        logger.info('Request refused', { status: mapped.status, code: mapped.body.error.code });
        metrics.addMetric(API_METRICS.clientErrors, MetricUnit.Count, 1);
      }
      request.response = toHttpResponse(
        { status: mapped.status, body: mapped.body, headers: mapped.headers },
        { method: request.event.requestContext?.http?.method ?? 'GET', headers: request.event.headers ?? {} },
      );
    },
  };
}

/** Methods whose requests change state and are recorded in the audit trail. */
const AUDITED_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE']);

const jsonObject = (text: string | undefined, isBase64Encoded = false): unknown => {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(isBase64Encoded ? Buffer.from(text, 'base64').toString('utf8') : text);
  } catch {
    return undefined;
  }
};

/**
 * The audit entry of a finished request: the caller, the route, what it named (path, query, a
 * fixed-shape body, the answer's `cluster_id`), the result and the request id.
 */
export function auditEntryOf(
  route: RouteDefinition,
  event: APIGatewayProxyEventV2,
  response: APIGatewayProxyStructuredResultV2,
  caller: Caller | null,
  nowMs: number,
): AuditEntryInput {
  const status = response.statusCode ?? 200;
  const answer = response.isBase64Encoded === true ? undefined : jsonObject(response.body);
  const errorCode = z.object({ error: z.object({ code: z.string() }) }).safeParse(answer);
  return {
    at: nowMs,
    actor: caller?.username ?? 'unknown',
    action: route.id,
    target: auditTargetFromRequest({
      path: event.pathParameters,
      query: event.queryStringParameters,
      // Only fixed-shape bodies: a mappings file's keys are usernames, not fields.
      body:
        objectShape(route.request.body) === undefined
          ? undefined
          : jsonObject(event.body, event.isBase64Encoded),
      response: status < 300 ? answer : undefined,
    }),
    result: auditResultOf(status),
    status,
    error_code: errorCode.success ? errorCode.data.error.code : null,
    request_id: event.requestContext?.requestId ?? 'unknown',
  };
}

let auditUnconfiguredLogged = false;

/** Counts every request, so each invocation emits at least one metric. */
function requestCounter(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    name: 'requestCounter',
    before: function countRequest() {
      metrics.addMetric(API_METRICS.requests, MetricUnit.Count, 1);
    },
  };
}

/**
 * The catch-all function's handler (`notFoundRoute`, API Gateway's `$default`): every request is
 * answered with the documented 404 on the same middy stack as the routes (metrics, error shape,
 * request id). No authorizer: the answer names nothing but the request's own method and path.
 */
export function notFoundHandler(): HttpLambdaHandler {
  const stack = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(logMetrics(metrics))
    .use(requestCounter())
    .use(httpErrorMapper('public', envIdentityOptions))
    .handler(async function answerUnknownRoute(event) {
      const http = event.requestContext?.http;
      throw unknownRouteError(http?.method ?? 'GET', event.rawPath ?? http?.path ?? '/');
    });
  return withInvocationLogger((event: APIGatewayProxyEventV2, context: Context) => stack(event, context));
}

/**
 * Builds a route's Lambda handler on the one middy stack.
 *
 * ```ts
 * export const handler = httpHandler({ route: routes.getVm, handler: async ({ path, caller }) => ({ status: 200, body: … }) });
 * ```
 */
export function httpHandler<TRequest extends RouteRequestSchemas, TAuth extends RouteAuth>(
  options: HttpHandlerOptions<TRequest, TAuth>,
): HttpLambdaHandler {
  const { route, handler } = options;
  const identity = options.identity ?? envIdentityOptions;
  const auditPort = options.audit ?? defaultAuditPort;
  const audited = AUDITED_METHODS.has(route.method);
  const base = async (
    event: APIGatewayProxyEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const caller = resolveCaller(route.auth, event, identity);
    if (caller !== null) logger.appendKeys({ username: caller.username });
    const input = validateRequest(route, event);
    const headers = event.headers ?? {};
    // The schemas produced these values; the generic types only name them.
    const request = {
      path: input.path,
      query: input.query,
      body: input.body,
      caller,
      headers,
      event,
      context,
    } as HttpRequest<TRequest, TAuth>;
    const result = await handler(request);
    return toHttpResponse(result, { method: event.requestContext?.http?.method ?? 'GET', headers });
  };
  const stack = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    // No ColdStart metric: it is a billed series per function, and the platform's REPORT log lines
    // (`Init Duration`) already tell cold starts to Logs Insights.
    .use(logMetrics(metrics))
    .use(requestCounter())
    .use(httpErrorMapper(route.auth, identity))
    .handler(base);
  // Each invocation logs through its own child logger (function name, request id, username);
  // state-changing requests are then recorded, in bounded time and never failing the request.
  return withInvocationLogger(async (event: APIGatewayProxyEventV2, context: Context) => {
    const response = await stack(event, context);
    if (!audited) return response;
    const port = auditPort();
    if (port === undefined) {
      if (!auditUnconfiguredLogged)
        logger.warn('Audit trail not configured (AUDIT_TABLE unset): not recorded');
      auditUnconfiguredLogged = true;
      return response;
    }
    const caller = callerForErrorAnswer(route.auth, event, identity);
    // When: the request's arrival as the gateway stamped it.
    const at = event.requestContext?.timeEpoch ?? Date.now();
    await recordAuditSafely(port, auditEntryOf(route, event, response, caller, at), logger);
    return response;
  });
}

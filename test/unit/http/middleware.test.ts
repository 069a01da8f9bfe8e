import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext } from '#local/gateway/server.ts';
import { ConflictError, NotFoundError } from '#shared/http/errors.ts';
import { httpHandler } from '#shared/http/middleware.ts';
import { defineRoute, routeKey, routes } from '#shared/http/routes.ts';
import { logger } from '#shared/observability/powertools.ts';

const echoRoute = defineRoute({
  id: 'echo',
  method: 'POST',
  path: '/api/echo/{cluster}/{vmid}',
  auth: 'jwt',
  handler: 'functions/api/echo.ts',
  placement: 'outside-vpc',
  summary: 'test',
  tag: 'test',
  request: {
    path: routes.getVm.request.path,
    query: routes.listVms.request.query,
    body: z.strictObject({ name: z.string().max(5), count: z.number().int() }),
  },
  responses: { 200: { description: 'ok' } },
});

const REQUEST_ID = 'api-req-1';
const claims = { 'cognito:username': 'Alice@pve', 'cognito:groups': '[teachers]' };

function event(options: {
  path?: Record<string, string>;
  query?: string;
  body?: string;
  headers?: Record<string, string>;
  withClaims?: boolean;
}): APIGatewayProxyEventV2 {
  const path = options.path ?? { cluster: 'lab-a', vmid: '101' };
  return buildHttpApiEvent({
    method: 'POST',
    rawPath: `/api/echo/${path.cluster}/${path.vmid}`,
    rawQueryString: options.query ?? '',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body ?? '{"name":"a","count":1}',
    routeKey: routeKey(echoRoute),
    pathParameters: path,
    requestId: REQUEST_ID,
    ...(options.withClaims === false ? {} : { jwt: { claims, scopes: null } }),
  });
}

const context = () => createLambdaContext('echo', 'req-1', Date.now() + 10_000);

async function call(
  handler: (
    e: APIGatewayProxyEventV2,
    c: ReturnType<typeof context>,
  ) => Promise<APIGatewayProxyStructuredResultV2>,
  e: APIGatewayProxyEventV2,
) {
  const response = await handler(e, context());
  const body: unknown =
    typeof response.body === 'string' && response.body !== '' ? JSON.parse(response.body) : undefined;
  return { response, body };
}

afterEach(() => vi.restoreAllMocks());

describe('httpHandler', () => {
  const echo = httpHandler({
    route: echoRoute,
    handler: async ({ path, query, body, caller }) => ({ status: 200, body: { path, query, body, caller } }),
  });

  it('hands the handler validated, typed input and the caller', async () => {
    const { response, body } = await call(echo, event({ query: 'limit=5&live=TRUE&search=web' }));
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json; charset=utf-8');
    expect(body).toEqual({
      path: { cluster: 'lab-a', vmid: 101 },
      query: { limit: 5, live: true, search: 'web' },
      body: { name: 'a', count: 1 },
      caller: { username: 'alice', roles: { admin: false, teacher: true } },
    });
  });

  it('answers 400 naming every bad field of path, query and body', async () => {
    const { response, body } = await call(
      echo,
      event({
        path: { cluster: 'Lab_A', vmid: '99' },
        query: 'limit=2001&live=yes&cursor=%21%21',
        body: '{"name":"toolong","extra":1}',
      }),
    );
    expect(response.statusCode).toBe(400);
    const parsed = z
      .object({
        error: z.object({
          code: z.string(),
          details: z.array(z.object({ field: z.string(), message: z.string() })),
        }),
      })
      .parse(body);
    expect(parsed.error.code).toBe('bad_request');
    expect(parsed.error.details.map((detail) => detail.field).sort()).toEqual(
      [
        'body.count',
        'body.extra',
        'body.name',
        'path.cluster',
        'path.vmid',
        'query.cursor',
        'query.limit',
        'query.live',
      ].sort(),
    );
  });

  it.each([
    ['limit=0', 'query.limit'],
    ['limit=1.5', 'query.limit'],
    ['limit=5,6', 'query.limit'],
    ['force_refresh=2', 'query.force_refresh'],
    [`search=${'x'.repeat(201)}`, 'query.search'],
    ['cluster=-bad', 'query.cluster'],
  ])('refuses the query %s naming %s', async (query, field) => {
    const { response, body } = await call(echo, event({ query }));
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(body)).toContain(`"field":"${field}"`);
  });

  it('refuses a body that is not JSON without echoing it', async () => {
    const { response, body } = await call(echo, event({ body: '{"password":"hunter2"' }));
    expect(response.statusCode).toBe(400);
    expect(body).toEqual({
      error: {
        code: 'bad_request',
        message: 'The request is invalid',
        request_id: REQUEST_ID,
        details: [{ field: 'body', message: 'must be valid JSON' }],
      },
    });
  });

  it('reads a base64-encoded body', async () => {
    const e = {
      ...event({}),
      body: Buffer.from('{"name":"b","count":2}').toString('base64'),
      isBase64Encoded: true,
    };
    const { body } = await call(echo, e);
    expect(body).toMatchObject({ body: { name: 'b', count: 2 } });
  });

  it('answers 401 on a JWT route whose event carries no claims', async () => {
    const { response, body } = await call(echo, event({ withClaims: false }));
    expect(response.statusCode).toBe(401);
    expect(body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('maps thrown HTTP errors to their status with details', async () => {
    const conflict = httpHandler({
      route: echoRoute,
      handler: async () => {
        throw new ConflictError('VMID 101 exists on several clusters', [{ cluster_id: 'a', vmid: 101 }]);
      },
    });
    const { response, body } = await call(conflict, event({}));
    expect(response.statusCode).toBe(409);
    expect(body).toEqual({
      error: {
        code: 'conflict',
        message: 'VMID 101 exists on several clusters',
        request_id: REQUEST_ID,
        details: [{ cluster_id: 'a', vmid: 101 }],
      },
    });
    const missing = httpHandler({
      route: echoRoute,
      handler: async () => {
        throw new NotFoundError();
      },
    });
    expect((await call(missing, event({}))).response.statusCode).toBe(404);
  });

  it('turns an unknown error into a generic 500 and logs the detail only', async () => {
    const logged = vi.spyOn(logger, 'error');
    const failing = httpHandler({
      route: echoRoute,
      handler: async () => {
        throw new Error('DynamoDB said: token=s3cr3t');
      },
    });
    const { response, body } = await call(failing, event({}));
    expect(response.statusCode).toBe(500);
    expect(body).toEqual({
      error: { code: 'internal_error', message: 'Internal server error', request_id: REQUEST_ID },
    });
    expect(String(response.body)).not.toContain('s3cr3t');
    expect(logged).toHaveBeenCalledWith('Request failed', {
      status: 500,
      error: expect.objectContaining({ message: 'DynamoDB said: token=s3cr3t' }),
    });
  });

  it('serves ETag/304 and gzip through the stack', async () => {
    const list = httpHandler({
      route: routes.getOpenApi,
      handler: async () => ({ status: 200, body: { items: 'x'.repeat(5000) }, etag: true }),
    });
    const get = (headers: Record<string, string>) =>
      buildHttpApiEvent({
        method: 'GET',
        rawPath: '/api/openapi.json',
        headers,
        routeKey: routeKey(routes.getOpenApi),
      });
    const first = await list(get({ 'accept-encoding': 'gzip' }), context());
    expect(first.headers?.['content-encoding']).toBe('gzip');
    expect(first.isBase64Encoded).toBe(true);
    const second = await list(get({ 'if-none-match': String(first.headers?.etag) }), context());
    expect(second.statusCode).toBe(304);
  });

  it('gives public routes a null caller', async () => {
    const publicRoute = httpHandler({
      route: routes.getSyncHealth,
      handler: async ({ caller }) => ({ status: 200, body: { caller } }),
    });
    const e = buildHttpApiEvent({
      method: 'GET',
      rawPath: '/api/sync/health',
      routeKey: routeKey(routes.getSyncHealth),
    });
    const { body } = await call(publicRoute, e);
    expect(body).toEqual({ caller: null });
  });
});

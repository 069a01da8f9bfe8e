import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { LocalIssuer } from '#local/auth/issuer.ts';
import { type GatewayLambdaHandler, type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import { httpHandler } from '#shared/http/middleware.ts';
import { routeList, routes } from '#shared/http/routes.ts';
import { badInputArbitrary, checkBadInputResponse } from '../../helpers/bad-input.ts';
import {
  createTestIssuer,
  type RefusedTokens,
  refusedTokens,
  TEST_AUDIENCE,
  testUserTokens,
} from '../../helpers/tokens.ts';

let issuer: LocalIssuer;
let gateway: LocalGateway;
let received: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];
let refused: RefusedTokens;
let tokens: Awaited<ReturnType<typeof testUserTokens>>;

// Records the raw event the way a handler receives it.
const recordingHandler: GatewayLambdaHandler = async (event: APIGatewayProxyEventV2WithJWTAuthorizer) => {
  received.push(event);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ok: true }),
  };
};

// Every route's real validation, nothing else: what the bad-input property runs against.
const validationOnly = Object.fromEntries(
  routeList.map((route) => [
    route.id,
    httpHandler({ route, handler: async () => ({ status: 200, body: { ok: true } }) }),
  ]),
);

beforeAll(async () => {
  issuer = await createTestIssuer();
  refused = await refusedTokens(issuer);
  tokens = await testUserTokens(issuer);
  gateway = await startLocalGateway({
    port: 0,
    routes: routeList,
    issuer,
    audience: TEST_AUDIENCE,
    cors: { allowOrigins: ['http://localhost:5173'] },
    handlers: {
      ...validationOnly,
      listVms: recordingHandler,
      getSyncHealth: recordingHandler,
    },
  });
});

afterAll(async () => {
  await gateway.close();
});

const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  });

describe('local gateway: JWT authorizer', () => {
  it('listens on loopback', () => {
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it.each([
    ['no token', undefined],
    ['a forged signature', 'forged'],
    ['an expired token', 'expired'],
    ['a wrong audience', 'wrongAudience'],
    ['a wrong issuer', 'wrongIssuer'],
    ['a token not yet valid', 'notYetValid'],
    ['an access token for another client', 'wrongClientId'],
    ['garbage', 'garbage'],
  ] as const)('answers 401 like API Gateway to %s', async (_, kind) => {
    received = [];
    const token = kind === undefined ? undefined : kind === 'garbage' ? 'not.a.jwt' : refused[kind];
    const response = await get('/api/vms', token);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(received).toHaveLength(0);
  });

  it('hands the handler a payload 2.0 event with claims shaped as API Gateway shapes them', async () => {
    received = [];
    const token = await issuer.issueToken('Alice@pve', { groups: ['teachers', 'admins'] });
    const response = await get('/api/vms?tag=a&tag=b&search=web%20x', token, { 'X-Custom': 'Yes' });
    expect(response.status).toBe(200);
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    const [event] = received;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /api/vms',
      rawPath: '/api/vms',
      rawQueryString: 'tag=a&tag=b&search=web%20x',
      queryStringParameters: { tag: 'a,b', search: 'web x' },
      headers: { 'x-custom': 'Yes' },
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'GET', path: '/api/vms', sourceIp: '127.0.0.1' },
        routeKey: 'GET /api/vms',
      },
    });
    const claims = event?.requestContext.authorizer.jwt.claims ?? {};
    expect(claims['cognito:username']).toBe('Alice@pve');
    expect(claims['cognito:groups']).toBe('[teachers admins]');
    expect(claims.aud).toBe(TEST_AUDIENCE);
    expect(claims.iss).toBe(issuer.issuerUrl);
    expect(typeof claims.exp).toBe('string');
    expect(Object.values(claims).every((value) => typeof value === 'string')).toBe(true);
  });

  it('accepts a Cognito-style access token (client_id, no aud)', async () => {
    const { accessToken } = await issuer.issueTokens('bob');
    const response = await get('/api/vms', accessToken);
    expect(response.status).toBe(200);
  });

  it('resolves the caller from the shaped claims through the middleware', async () => {
    const response = await get('/api/sync/stats', tokens.admin);
    expect(response.status).toBe(200);
  });

  it('serves public routes without a token, and ignores the authorizer there', async () => {
    received = [];
    const response = await get('/api/sync/health');
    expect(response.status).toBe(200);
    expect(received[0]?.requestContext.authorizer).toBeUndefined();
  });

  it('serves interactive API docs at /docs from the swagger-ui-dist package, reading the OpenAPI route', async () => {
    const page = await fetch(`${gateway.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('src="/docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/https?:\/\//);
    const init = await (await fetch(`${gateway.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/api/openapi.json'");
    const bundle = await fetch(`${gateway.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${gateway.url}/docs/swagger-ui.css`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/docs/../package.json`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/docs/index.html`)).status).toBe(404);
  });

  it("answers routes not in the table with the API's error shape (not_found), through the catch-all function", async () => {
    const response = await get('/api/unknown', tokens.admin);
    expect(response.status).toBe(404);
    const requestId = response.headers.get('apigw-requestid');
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /api/unknown', request_id: requestId },
    });
    // No authorizer on the catch-all: without a token the same answer.
    const anonymous = await fetch(`${gateway.url}/api/vms`, { method: 'PATCH' });
    expect(anonymous.status).toBe(404);
    expect(await anonymous.json()).toMatchObject({
      error: { code: 'not_found', message: 'No route for PATCH /api/vms' },
    });
  });

  it('answers CORS preflight itself and adds CORS headers for allowed origins', async () => {
    const preflight = await fetch(`${gateway.url}/api/vms`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await fetch(`${gateway.url}/api/vms`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.localhost', 'access-control-request-method': 'GET' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const actual = await get('/api/sync/health', undefined, { origin: 'http://localhost:5173' });
    expect(actual.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(actual.headers.get('access-control-expose-headers')).toBe('etag');
  });

  it('answers validation errors naming the field, through the gateway', async () => {
    const response = await get('/api/vms/lab-a/12?limit=0', tokens.studentA);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body).toMatchObject({ error: { code: 'bad_request', details: [{ field: 'path.vmid' }] } });
  });
});

describe('local gateway: integration failures', () => {
  let failing: LocalGateway;
  const logged: string[] = [];
  beforeAll(async () => {
    failing = await startLocalGateway({
      port: 0,
      routes: routeList,
      issuer,
      audience: TEST_AUDIENCE,
      integrationTimeoutMs: 100,
      log: (line) => logged.push(line),
      handlers: {
        getSyncHealth: async () => {
          throw new Error('boom');
        },
        // Never settles: the integration timeout must answer instead.
        getOpenApi: () => new Promise(() => {}),
      },
    });
  });
  afterAll(async () => {
    await failing.close();
  });

  it('answers 500 {"message":"Internal Server Error"} when the handler throws, and logs it', async () => {
    const response = await fetch(`${failing.url}/api/sync/health`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    expect(logged.some((line) => line.includes('boom'))).toBe(true);
  });

  it('answers 503 when the handler outlives the integration timeout', async () => {
    const response = await fetch(`${failing.url}/api/openapi.json`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
  });
});

describe('local gateway: the real OpenAPI handler', () => {
  let openapiGateway: LocalGateway;
  beforeAll(async () => {
    openapiGateway = await startLocalGateway({ port: 0, routes: routeList, issuer, audience: TEST_AUDIENCE });
  });
  afterAll(async () => {
    await openapiGateway.close();
  });

  it('loads functions/api/openapi.ts lazily and serves a document listing every route, gzipped on request', async () => {
    const response = await fetch(`${openapiGateway.url}/api/openapi.json`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(response.status).toBe(200);
    // fetch decodes gzip transparently; the header proves the gateway passed the base64 body through decoded.
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    expect(ids.sort()).toEqual(routeList.map((route) => route.id).sort());
    const etag = response.headers.get('etag');
    const again = await fetch(`${openapiGateway.url}/api/openapi.json`, {
      headers: { 'if-none-match': String(etag) },
    });
    expect(again.status).toBe(304);
  });

  it('passes bad inputs to the OpenAPI route without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(badInputArbitrary(routes.getOpenApi), async (testCase) => {
        const response = await fetch(`${openapiGateway.url}${testCase.rawPath}?${testCase.rawQueryString}`);
        const problem = checkBadInputResponse(testCase, response.status, await response.text());
        expect(problem).toBeNull();
      }),
      { numRuns: 50 },
    );
  });
});

describe('local gateway: bad inputs against every route (validation-only handlers)', () => {
  it.each(
    routeList
      .filter((route) => route.id !== 'listVms' && route.id !== 'getSyncHealth')
      .map((route) => [route.id, route] as const),
  )('%s: never a 5xx, every 400 names the bad field', async (_, route) => {
    await fc.assert(
      fc.asyncProperty(badInputArbitrary(route), async (testCase) => {
        const response = await fetch(
          `${gateway.url}${testCase.rawPath}${testCase.rawQueryString === '' ? '' : `?${testCase.rawQueryString}`}`,
          {
            method: testCase.method,
            headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
            ...(testCase.body === undefined || testCase.method === 'GET' ? {} : { body: testCase.body }),
          },
        );
        const problem = checkBadInputResponse(testCase, response.status, await response.text());
        expect(problem).toBeNull();
      }),
      { numRuns: 40 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { buildHttpApiEvent, formatRequestTime, parseQueryString, shapeClaims } from '#local/gateway/event.ts';
import { createRouteMatcher } from '#local/gateway/route-matcher.ts';
import { integrationResponse } from '#local/gateway/server.ts';
import { routeList } from '#shared/http/routes.ts';

describe('route matcher', () => {
  const match = createRouteMatcher(routeList);

  it('matches literal routes before parameterized ones and decodes parameters', () => {
    expect(match('POST', '/api/assignments/import')?.route.id).toBe('importMappings');
    expect(match('GET', '/api/vms/lab-a/101')).toMatchObject({
      route: { id: 'getVm' },
      pathParameters: { cluster: 'lab-a', vmid: '101' },
    });
    expect(match('PUT', '/api/classes/net-101/members/alice%40pve')).toMatchObject({
      route: { id: 'putClassMember' },
      pathParameters: { classId: 'net-101', username: 'alice@pve' },
    });
  });

  it('returns no match for unknown paths, other methods, trailing slashes and empty segments', () => {
    expect(match('GET', '/api/nothing')).toBeNull();
    expect(match('PATCH', '/api/vms')).toBeNull();
    expect(match('GET', '/api/vms/')).toBeNull();
    expect(match('GET', '/api/vms//101')).toBeNull();
  });

  it('prefers the most specific of overlapping routes', () => {
    const overlapping = createRouteMatcher([
      { method: 'GET', path: '/a/{x}' },
      { method: 'GET', path: '/a/b' },
      { method: 'GET', path: '/a/{rest+}' },
    ] as const);
    expect(overlapping('GET', '/a/b')?.route.path).toBe('/a/b');
    expect(overlapping('GET', '/a/c')?.route.path).toBe('/a/{x}');
    expect(overlapping('GET', '/a/c/d')).toMatchObject({
      route: { path: '/a/{rest+}' },
      pathParameters: { rest: 'c/d' },
    });
  });
});

describe('payload 2.0 events', () => {
  it('flattens claims as API Gateway does: strings, arrays as "[a b]"', () => {
    expect(
      shapeClaims({
        'cognito:groups': ['admins', 'teachers'],
        exp: 1700000000,
        email_verified: true,
        empty: [],
      }),
    ).toEqual({
      'cognito:groups': '[admins teachers]',
      exp: '1700000000',
      email_verified: 'true',
      empty: '[]',
    });
  });

  it('comma-joins repeated query parameters and decodes them', () => {
    expect(parseQueryString('tag=a&tag=b&search=web%20server')).toEqual({ tag: 'a,b', search: 'web server' });
    expect(parseQueryString('')).toBeUndefined();
  });

  it('lower-cases headers, splits cookies and base64-encodes binary bodies', () => {
    const event = buildHttpApiEvent({
      method: 'post',
      rawPath: '/api/x',
      rawQueryString: 'a=1',
      headers: { 'Content-Type': 'application/octet-stream', Cookie: 'a=1; b=2', 'X-Multi': ['1', '2'] },
      body: Buffer.from([0xff, 0x00]),
      routeKey: 'POST /api/x',
      timeEpoch: Date.UTC(2026, 10, 25, 21, 26, 11),
      requestId: 'r1',
    });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /api/x',
      rawQueryString: 'a=1',
      cookies: ['a=1', 'b=2'],
      headers: { 'content-type': 'application/octet-stream', 'x-multi': '1,2' },
      queryStringParameters: { a: '1' },
      isBase64Encoded: true,
      body: '/wA=',
      requestContext: {
        http: { method: 'POST', path: '/api/x' },
        requestId: 'r1',
        time: '25/Nov/2026:21:26:11 +0000',
      },
    });
    expect(event.pathParameters).toBeUndefined();
  });

  it('formats requestContext.time like API Gateway', () => {
    expect(formatRequestTime(Date.UTC(2026, 0, 5, 3, 4, 5))).toBe('05/Jan/2026:03:04:05 +0000');
  });
});

describe('integration responses', () => {
  it('passes structured results through, decoding base64 bodies and cookies', () => {
    const response = integrationResponse({
      statusCode: 201,
      headers: { 'X-A': 'b' },
      cookies: ['c=1'],
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    expect(response).toEqual({
      status: 201,
      headers: { 'x-a': 'b' },
      cookies: ['c=1'],
      body: Buffer.from('hi'),
    });
  });

  it('treats a result without statusCode as a 200 JSON body, and a bad statusCode as a 500', () => {
    expect(integrationResponse({ ok: true })).toMatchObject({
      status: 200,
      body: Buffer.from('{"ok":true}'),
    });
    expect(integrationResponse({ statusCode: 'x' })).toMatchObject({ status: 500 });
  });
});

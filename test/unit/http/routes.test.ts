import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, renderErrorCodeTable } from '#shared/http/error-codes.ts';
import { buildOpenApiDocument } from '#shared/http/openapi.ts';
import { notFoundRoute, routeKey, routeList, routes } from '#shared/http/routes.ts';
import { objectShape } from '#shared/http/schema-introspection.ts';

describe('route table', () => {
  it('has unique ids and unique route keys, each id its key in the table', () => {
    expect(new Set(routeList.map((route) => route.id)).size).toBe(routeList.length);
    expect(new Set(routeList.map(routeKey)).size).toBe(routeList.length);
    for (const [id, route] of Object.entries(routes)) expect(route.id).toBe(id);
  });

  it('names a functions/api entry file per route and keeps only the action handlers in the VPC', () => {
    for (const route of routeList) expect(route.handler).toMatch(/^functions\/api\/[a-z0-9-]+\.ts$/);
    expect(routeList.filter((route) => route.placement === 'vpc').map((route) => route.id)).toEqual([
      'vmAction',
      'bulkAction',
    ]);
  });

  it('leaves only health and the OpenAPI document public', () => {
    expect(routeList.filter((route) => route.auth === 'public').map(routeKey)).toEqual([
      'GET /api/sync/health',
      'GET /api/openapi.json',
    ]);
  });

  it('declares a path schema with exactly the parameters of each path', () => {
    for (const route of routeList) {
      const inPath = [...route.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1]).sort();
      expect(Object.keys(objectShape(route.request.path) ?? {}).sort(), route.id).toEqual(inPath);
    }
  });

  it('ships the handler of the OpenAPI route', () => {
    expect(existsSync(new URL(`../../../${routes.getOpenApi.handler}`, import.meta.url))).toBe(true);
  });
});

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument(routeList);
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;

  it('is OpenAPI 3.1 and lists every route of the route table, by operationId', () => {
    expect(document.openapi).toBe('3.1.0');
    const listed = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => `${method.toUpperCase()} ${path} ${String(op.operationId)}`),
    );
    expect(listed.sort()).toEqual(routeList.map((route) => `${routeKey(route)} ${route.id}`).sort());
  });

  it('says how an unknown route is answered (the $default catch-all), and lists it as no operation', () => {
    expect(String((document.info as Record<string, unknown>).description)).toMatch(
      /no operation below matches .* 404 `not_found`/,
    );
    expect(Object.keys(paths)).not.toContain(notFoundRoute.routeKey);
  });

  it('secures JWT routes with the bearer scheme and leaves public routes without security', () => {
    for (const route of routeList) {
      const op = paths[route.path]?.[route.method.toLowerCase()];
      if (route.auth === 'jwt') expect(op?.security, route.id).toEqual([{ bearerJwt: [] }]);
      else expect(op?.security, route.id).toBeUndefined();
    }
    expect(document.components).toMatchObject({
      securitySchemes: { bearerJwt: { type: 'http', scheme: 'bearer' } },
    });
  });

  it('documents parameters from the zod schemas', () => {
    const params = paths['/api/vms']?.get?.parameters as {
      name: string;
      in: string;
      required: boolean;
      schema: unknown;
    }[];
    expect(params.map((param) => param.name)).toEqual(
      expect.arrayContaining(['search', 'cluster', 'limit', 'cursor', 'force_refresh', 'live']),
    );
    expect(params.find((param) => param.name === 'search')?.schema).toMatchObject({
      type: 'string',
      maxLength: 200,
    });
    const actionParams = paths['/api/vm/{vmid}/{action}']?.post?.parameters as {
      name: string;
      in: string;
      required: boolean;
    }[];
    expect(actionParams.filter((param) => param.in === 'path').every((param) => param.required)).toBe(true);
  });

  it("documents the original portal's routes and fields: ok, unchanged, is_admin, status and ip", () => {
    const json = (path: string, method: string, status: string) =>
      JSON.stringify(
        (paths[path]?.[method]?.responses as Record<string, unknown> | undefined)?.[status] ?? null,
      );
    const schemas = (document.components as { schemas: Record<string, { properties?: object }> }).schemas;
    expect(Object.keys(schemas.VmStatusResponse?.properties ?? {})).toEqual(
      expect.arrayContaining(['ok', 'vmid', 'status', 'ip', 'pending_action']),
    );
    expect(json('/api/vm/{vmid}/status', 'get', '200')).toContain('#/components/schemas/VmStatusResponse');
    for (const field of ['"ok"', '"vmid"', '"ip"', '"status"']) {
      expect(json('/api/vm/{vmid}/ip', 'get', '200')).toContain(field);
    }
    expect(json('/api/vm/{vmid}/{action}', 'post', '200')).toContain('"unchanged"');
    expect(json('/api/vm/{vmid}/{action}', 'post', '200')).toContain('"ok"');
    expect(json('/api/vm/{vmid}/{action}', 'post', '202')).toContain('"ok"');
    expect(json('/api/sync/trigger', 'post', '202')).toContain('"ok"');
    expect(json('/api/vms', 'get', '200')).toContain('"is_admin"');
  });

  it('says what stop and shutdown mean (a portal offers shutdown first, stop as a confirmed force stop)', () => {
    const action = JSON.stringify(paths['/api/vm/{vmid}/{action}']?.post?.parameters);
    expect(action).toContain('shutdown = graceful power-off');
    expect(action).toContain('stop = hard stop');
  });

  it('resolves every $ref to a component', () => {
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (match) => match[1],
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(schemas, String(ref)).toHaveProperty(String(ref));
  });
});

describe('OpenAPI error answers', () => {
  const document = buildOpenApiDocument(routeList);
  const paths = document.paths as Record<
    string,
    Record<string, { responses: Record<string, OpenApiResponse> }>
  >;
  const responsesOf = (route: (typeof routeList)[number]) =>
    paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {};
  const codesAt = (route: (typeof routeList)[number], status: number): string[] =>
    Object.values(responsesOf(route)[String(status)]?.content?.['application/json']?.examples ?? {})
      .map((example) => example.value.error?.code)
      .filter((code): code is string => code !== undefined);

  /** Every `error.code` the sources can answer: HttpError subclasses and handlers' own error bodies. */
  function codesInSources(): Map<string, number> {
    const found = new Map<string, number>();
    const root = new URL('../../../', import.meta.url);
    const files = ['shared', 'functions', 'local/gateway'].flatMap((dir) =>
      readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(new URL(`${dir}/${file}`, root), 'utf8')),
    );
    for (const text of files) {
      for (const m of text.matchAll(/super\(\s*(\d{3}),\s*'([a-z_]+)'/g))
        found.set(String(m[2]), Number(m[1]));
      for (const m of text.matchAll(/status: (\d{3}),\s*body: \{\s*error: \{ code: '([a-z_]+)'/g))
        found.set(String(m[2]), Number(m[1]));
    }
    return found;
  }

  it('documents every error code the handlers can produce, under its status', () => {
    const produced = codesInSources();
    expect([...produced.keys()]).toEqual(
      expect.arrayContaining([
        'bad_request',
        'not_found',
        'action_pending',
        'action_failed',
        'proxmox_unavailable',
      ]),
    );
    for (const [code, status] of produced) {
      expect(ERROR_CODES, code).toHaveProperty(code);
      expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status, code).toBe(status);
      const documented = routeList.some((route) => codesAt(route, status).includes(code));
      expect(documented, `${code} (${status}) is in no route's responses`).toBe(true);
    }
  });

  it('lists every answer of the action route: 409s, 502, 429, each with an example', () => {
    const route = routes.vmAction;
    expect(codesAt(route, 409).sort()).toEqual(['action_failed', 'action_pending', 'conflict']);
    expect(codesAt(route, 502)).toEqual(['proxmox_unavailable']);
    expect(codesAt(route, 429)).toEqual(['too_many_requests']);
    expect(Object.keys(responsesOf(route)).sort()).toEqual(
      ['200', '202', '400', '401', '403', '404', '409', '429', '500', '502'].sort(),
    );
    const gatewayThrottle = responsesOf(route)['429']?.content?.['application/json']?.examples?.gateway_429;
    expect(gatewayThrottle?.value).toEqual({ message: 'Too Many Requests' });
  });

  it('documents the 409 of an ambiguous VMID on the routes that resolve a bare VMID', () => {
    for (const route of [routes.getVmStatus, routes.getVmIp]) {
      expect(codesAt(route, 409), route.id).toEqual(['conflict']);
      expect(codesAt(route, 404), route.id).toEqual(['not_found']);
    }
  });

  it('gives every route 429 and 500, and only JWT routes 401/403', () => {
    for (const route of routeList) {
      const statuses = Object.keys(responsesOf(route));
      expect(statuses, route.id).toEqual(expect.arrayContaining(['429', '500']));
      expect(statuses.includes('403'), route.id).toBe(route.auth === 'jwt');
    }
  });

  it('has a servers entry', () => {
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(buildOpenApiDocument(routeList, { serverUrl: 'https://api.example' }).servers).toEqual([
      { url: 'https://api.example' },
    ]);
  });

  it("keeps the README's error-code table equal to the document's codes", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const block = /<!-- error-codes:start -->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(readme)?.[1];
    expect(block).toBe(renderErrorCodeTable());
  });
});

interface OpenApiResponse {
  content?: {
    'application/json'?: {
      examples?: Record<string, { value: { error?: { code: string }; message?: string } }>;
    };
  };
}

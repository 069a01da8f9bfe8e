import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '#shared/http/openapi.ts';
import { routeKey, routeList, routes } from '#shared/http/routes.ts';
import { objectShape } from '#shared/http/schema-introspection.ts';

describe('route table', () => {
  it('has unique ids and unique route keys, each id its key in the table', () => {
    expect(new Set(routeList.map((route) => route.id)).size).toBe(routeList.length);
    expect(new Set(routeList.map(routeKey)).size).toBe(routeList.length);
    for (const [id, route] of Object.entries(routes)) expect(route.id).toBe(id);
  });

  it('names a functions/api entry file per route and keeps only the action handler in the VPC', () => {
    for (const route of routeList) expect(route.handler).toMatch(/^functions\/api\/[a-z0-9-]+\.ts$/);
    expect(routeList.filter((route) => route.placement === 'vpc').map((route) => route.id)).toEqual([
      'vmAction',
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

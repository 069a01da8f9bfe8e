import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import type { z } from 'zod';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { type RouteDefinition, routeKey } from '#shared/http/routes.ts';
import { examplesOf, objectShape } from '#shared/http/schema-introspection.ts';
import { formatField, parseJsonBody } from '#shared/http/validation.ts';

/**
 * Property-test inputs: for any route, fast-check cases that each break exactly one thing — a
 * path parameter, a query parameter, or the body (not JSON, wrong type, a field wrong, missing or
 * unknown) — starting from the valid examples the route's schemas carry. Values are kept only when
 * the route's own schema rejects them, so every case must give a 400 naming `expectedField`.
 * Routes without inputs get "noise" cases (unknown parameters, stray bodies) that must not 5xx.
 *
 * Use: `fc.assert(fc.asyncProperty(badInputArbitrary(route), async (c) => { … checkBadInputResponse(c, status, body) … }))`.
 */

/** One generated bad request. */
export interface BadInputCase {
  readonly routeId: string;
  /** `METHOD /path` of the route. */
  readonly routeKey: string;
  readonly kind: 'path' | 'query' | 'body' | 'noise';
  /** The field the 400 must name (`query.limit`, `body`, `body.vmid`…); `null` for noise cases. */
  readonly expectedField: string | null;
  readonly method: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  /** Path with the parameters substituted and percent-encoded. */
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly body: string | undefined;
  readonly description: string;
}

const NASTY_STRINGS = [
  '',
  ' ',
  'abc',
  'ABC',
  '-1',
  '0',
  '1',
  '99',
  '1.5',
  '1e3',
  '0x10',
  '99999999999',
  '1000000000',
  '2001',
  'a'.repeat(300),
  'true ',
  'yes',
  'null',
  'undefined',
  '%',
  '\u0000',
  '🙂',
  '../etc/passwd',
  '<script>',
  "' OR 1=1 --",
  'a b',
  '1,2',
  '!!',
  '=',
];

const NASTY_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e12,
  '',
  'x',
  'X'.repeat(3000),
  true,
  false,
  [],
  {},
  [1],
  { a: 1 },
];

const badString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 300, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.integer().map(String) },
  );

const badJsonValue = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_VALUES) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );

const firstExample = (schema: z.ZodType): unknown => examplesOf(schema)[0];

/** Valid path parameters of a route, from its schema examples. */
export function examplePathParameters(route: RouteDefinition): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, schema] of Object.entries(objectShape(route.request.path) ?? {})) {
    const example = firstExample(schema);
    params[name] = typeof example === 'string' ? example : 'x';
  }
  return params;
}

/** The required query parameters of a route, from its schema examples. */
export function exampleQuery(route: RouteDefinition): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, schema] of Object.entries(objectShape(route.request.query) ?? {})) {
    if (schema.safeParse(undefined).success) continue;
    const example = firstExample(schema);
    query[name] = typeof example === 'string' ? example : 'x';
  }
  return query;
}

/** A valid body of a route, from its schema example (or `undefined` when it takes none). */
export function exampleBody(route: RouteDefinition): unknown {
  if (route.request.body === undefined) return undefined;
  return firstExample(route.request.body) ?? {};
}

/** Substitutes (encoded) parameters into an API Gateway path. */
export function renderPath(path: string, params: Readonly<Record<string, string>>): string {
  return path.replace(/\{([A-Za-z0-9_]+)\+?\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}

function makeCase(
  route: RouteDefinition,
  kind: BadInputCase['kind'],
  expectedField: string | null,
  description: string,
  parts: { path?: Record<string, string>; query?: Record<string, string>; body?: string | undefined },
): BadInputCase {
  const pathParameters = parts.path ?? examplePathParameters(route);
  const query = parts.query ?? exampleQuery(route);
  const body =
    'body' in parts
      ? parts.body
      : route.request.body === undefined
        ? undefined
        : JSON.stringify(exampleBody(route));
  return {
    routeId: route.id,
    routeKey: routeKey(route),
    kind,
    expectedField,
    method: route.method,
    pathParameters,
    rawPath: renderPath(route.path, pathParameters),
    rawQueryString: new URLSearchParams(query).toString(),
    body,
    description,
  };
}

function pathCases(route: RouteDefinition): fc.Arbitrary<BadInputCase>[] {
  return Object.entries(objectShape(route.request.path) ?? {}).map(([name, schema]) =>
    badString()
      // An empty segment, or a dot segment (`.`, `..`: URLs drop them before any route is matched),
      // can never reach a parameterized route.
      .filter((value) => value !== '' && value !== '.' && value !== '..' && !schema.safeParse(value).success)
      .map((value) =>
        makeCase(route, 'path', formatField('path', [name]), `path ${name}=${JSON.stringify(value)}`, {
          path: { ...examplePathParameters(route), [name]: value },
        }),
      ),
  );
}

function queryCases(route: RouteDefinition): fc.Arbitrary<BadInputCase>[] {
  return Object.entries(objectShape(route.request.query) ?? {}).map(([name, schema]) =>
    badString()
      .filter((value) => !schema.safeParse(value).success)
      .map((value) =>
        makeCase(route, 'query', formatField('query', [name]), `query ${name}=${JSON.stringify(value)}`, {
          query: { ...exampleQuery(route), [name]: value },
        }),
      ),
  );
}

/** Whether the body schema rejects a body text, parsed the way the middleware parses it. */
function bodyRejected(schema: z.ZodType, text: string): boolean {
  let value: unknown;
  try {
    value = parseJsonBody({ body: text });
  } catch {
    return true;
  }
  return !schema.safeParse(value).success;
}

/**
 * The field a 400 must name after changing `key` of a valid body: that key — unless the schema
 * refuses the body as a whole (e.g. "must change at least one field"), then `body`.
 */
function expectedBodyField(schema: z.ZodType, body: unknown, key: string): string {
  const parsed = schema.safeParse(body);
  const names = (parsed.error?.issues ?? []).some(
    (issue) => issue.path[0] === key || (issue.code === 'unrecognized_keys' && issue.keys.includes(key)),
  );
  return names ? formatField('body', [key]) : 'body';
}

function bodyCases(route: RouteDefinition): fc.Arbitrary<BadInputCase>[] {
  const schema = route.request.body;
  if (schema === undefined) return [];
  const rootCase = fc
    .oneof(
      fc.constantFrom('{', 'not json', '{"a":', '[1,', '\u0000', '[]', '1', '"text"', 'null', 'true', '{}'),
      badJsonValue().map((value) => JSON.stringify(value)),
    )
    .filter((text) => bodyRejected(schema, text))
    .map((text) => makeCase(route, 'body', 'body', `body ${text.slice(0, 60)}`, { body: text }));
  const example = exampleBody(route);
  if (typeof example !== 'object' || example === null || Array.isArray(example)) return [rootCase];
  const keys = Object.keys(example);
  const keyArbitrary = fc.oneof(
    ...(keys.length > 0 ? [fc.constantFrom(...keys)] : []),
    fc.string({ minLength: 1, maxLength: 20 }).filter((key) => key !== '__proto__'),
  );
  const fieldCase = fc
    .tuple(keyArbitrary, fc.option(badJsonValue(), { nil: undefined }))
    .map(([key, value]) => {
      const mutated: Record<string, unknown> = { ...example };
      if (value === undefined) delete mutated[key];
      else mutated[key] = value;
      return { key, value, text: JSON.stringify(mutated), mutated };
    })
    .filter(({ text }) => bodyRejected(schema, text))
    .map(({ key, value, text, mutated }) =>
      makeCase(
        route,
        'body',
        expectedBodyField(schema, mutated, key),
        value === undefined ? `body without ${key}` : `body ${key}=${JSON.stringify(value)?.slice(0, 60)}`,
        { body: text },
      ),
    );
  return [rootCase, fieldCase];
}

function noiseCases(route: RouteDefinition): fc.Arbitrary<BadInputCase> {
  const known = new Set(Object.keys(objectShape(route.request.query) ?? {}));
  return fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !known.has(name)),
      fc.string({ maxLength: 50 }),
      fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
    )
    .map(([name, value, stray]) =>
      makeCase(route, 'noise', null, `unknown query ${JSON.stringify(name)}, stray body`, {
        query: { ...exampleQuery(route), [name]: value },
        body: route.request.body === undefined ? stray : JSON.stringify(exampleBody(route)),
      }),
    );
}

/** Every kind of bad input for a route (noise only, for routes without inputs). */
export function badInputArbitrary(route: RouteDefinition): fc.Arbitrary<BadInputCase> {
  const cases = [...pathCases(route), ...queryCases(route), ...bodyCases(route)];
  return cases.length === 0 ? noiseCases(route) : fc.oneof(...cases, noiseCases(route));
}

/** A payload 2.0 event for a case (for calling a handler directly), with optional JWT claims. */
export function badInputEvent(
  testCase: BadInputCase,
  claims?: Readonly<Record<string, unknown>>,
): APIGatewayProxyEventV2 {
  return buildHttpApiEvent({
    method: testCase.method,
    rawPath: testCase.rawPath,
    rawQueryString: testCase.rawQueryString,
    headers: { 'content-type': 'application/json' },
    ...(testCase.body === undefined ? {} : { body: testCase.body }),
    routeKey: testCase.routeKey,
    pathParameters: testCase.pathParameters,
    ...(claims === undefined ? {} : { jwt: { claims, scopes: null } }),
  });
}

/**
 * Checks the answer to a case: never a 5xx; for cases with an expected field, a 400 whose
 * `error.details` names that field (or a field inside it). Returns a problem description, or
 * `null` when the answer is right.
 */
export function checkBadInputResponse(
  testCase: BadInputCase,
  status: number,
  bodyText: string,
): string | null {
  if (status >= 500) return `${testCase.description}: answered ${status}`;
  if (testCase.expectedField === null) return null;
  if (status !== 400) return `${testCase.description}: expected 400, got ${status}`;
  let fields: string[] = [];
  try {
    const parsed: unknown = JSON.parse(bodyText);
    const details =
      typeof parsed === 'object' &&
      parsed !== null &&
      'error' in parsed &&
      typeof parsed.error === 'object' &&
      parsed.error !== null &&
      'details' in parsed.error
        ? parsed.error.details
        : undefined;
    if (Array.isArray(details)) {
      fields = details.flatMap((detail: unknown) =>
        typeof detail === 'object' && detail !== null && 'field' in detail && typeof detail.field === 'string'
          ? [detail.field]
          : [],
      );
    }
  } catch {
    return `${testCase.description}: the 400 body is not JSON`;
  }
  const expected = testCase.expectedField;
  const named = fields.some(
    (field) => field === expected || field.startsWith(`${expected}.`) || field.startsWith(`${expected}[`),
  );
  return named ? null : `${testCase.description}: 400 names ${JSON.stringify(fields)}, not ${expected}`;
}

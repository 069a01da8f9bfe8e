import * as z from 'zod';
import { ERROR_CODE_LIST, ERROR_CODES, type ErrorCode, exampleErrorBody } from '#shared/http/error-codes.ts';
import type { RouteDefinition } from '#shared/http/routes.ts';
import { examplesOf, isOptionalProperty, objectShape } from '#shared/http/schema-introspection.ts';
import { ErrorResponseSchema } from '#shared/http/schemas/common.ts';

/**
 * The OpenAPI 3.1 document, generated from the route table's zod schemas (zod 4's JSON Schema
 * output is draft 2020-12, which OpenAPI 3.1 uses as is). Schemas with an `id` in their metadata
 * become `components.schemas` entries.
 */

/** A JSON object (the document and its parts). */
export type JsonObject = { [key: string]: unknown };

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  readonly title?: string;
  readonly version?: string;
  readonly description?: string;
  /** `servers[0].url`. @default '/' (the origin the document was fetched from) */
  readonly serverUrl?: string;
}

/** Name of the bearer JWT security scheme. */
export const SECURITY_SCHEME = 'bearerJwt';

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Converts a zod schema to JSON Schema, moving `$defs` into `components` and fixing their refs. */
function toJsonSchema(schema: z.ZodType, io: 'input' | 'output', components: JsonObject): JsonObject {
  const converted: JsonObject = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  const defs = converted.$defs;
  delete converted.$schema;
  delete converted.$defs;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] =
        key === '$ref' && typeof value === 'string'
          ? value.replace(/^#\/\$defs\//, '#/components/schemas/')
          : rewrite(value);
    }
    return out;
  };
  if (isObject(defs)) {
    for (const [name, def] of Object.entries(defs)) components[name] ??= rewrite(def);
  }
  const result = rewrite(converted);
  return isObject(result) ? result : {};
}

/** Path or query parameters from an object schema. */
function parameters(
  location: 'path' | 'query',
  schema: z.ZodType | undefined,
  components: JsonObject,
): JsonObject[] {
  const shape = objectShape(schema);
  if (shape === undefined) return [];
  return Object.entries(shape).map(([name, property]) => {
    const jsonSchema = toJsonSchema(property, 'input', components);
    const { description, ...rest } = jsonSchema;
    const parameter: JsonObject = {
      name,
      in: location,
      required: location === 'path' || !isOptionalProperty(property),
      schema: rest,
    };
    if (typeof description === 'string') parameter.description = description;
    const [example] = examplesOf(property);
    if (example !== undefined) parameter.example = example;
    return parameter;
  });
}

/** API Gateway's own answers (authorizer refusal, stage throttling) are `{"message": …}`, not the error shape. */
const GATEWAY_ANSWERS: Readonly<Record<number, { description: string; message: string }>> = {
  401: {
    description: "the JWT authorizer refused the token (API Gateway's own body)",
    message: 'Unauthorized',
  },
  429: { description: "the stage's rate limit (API Gateway's own body)", message: 'Too Many Requests' },
};

/** The error codes a route can answer, generic ones derived from the route, then its own. */
export function routeErrorCodes(route: RouteDefinition): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  if (
    route.request.path !== undefined ||
    route.request.query !== undefined ||
    route.request.body !== undefined
  )
    codes.add('bad_request');
  if (route.auth === 'jwt') {
    codes.add('unauthorized');
    codes.add('forbidden');
  }
  if (route.request.path !== undefined) codes.add('not_found');
  if (route.maxBodyBytes !== undefined) codes.add('payload_too_large');
  for (const code of route.errors ?? []) codes.add(code);
  codes.add('too_many_requests');
  codes.add('internal_error');
  return ERROR_CODE_LIST.filter((code) => codes.has(code));
}

/** The error responses of a route by status: every code it can answer, each with an example. */
function errorResponses(route: RouteDefinition): JsonObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(route)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: JsonObject = {};
  for (const [status, codes] of byStatus) {
    const gateway = GATEWAY_ANSWERS[status];
    const lines = codes.map(
      (code) =>
        `\`${code}\`: ${ERROR_CODES[code].meaning}${code === 'payload_too_large' ? ` (this route: ${route.maxBodyBytes} bytes)` : ''}`,
    );
    const examples: JsonObject = {};
    for (const code of codes) examples[code] = { summary: code, value: exampleErrorBody(code) };
    let schema: JsonObject = { $ref: '#/components/schemas/Error' };
    if (gateway !== undefined && (status !== 401 || route.auth === 'jwt')) {
      lines.push(gateway.description);
      examples[`gateway_${status}`] = { summary: gateway.description, value: { message: gateway.message } };
      schema = { oneOf: [schema, { $ref: '#/components/schemas/GatewayMessage' }] };
    }
    out[String(status)] = {
      description: lines.join('; '),
      content: { 'application/json': { schema, examples } },
    };
  }
  return out;
}

/** The OpenAPI operation of one route. */
function operation(route: RouteDefinition, components: JsonObject): JsonObject {
  const op: JsonObject = {
    operationId: route.id,
    summary: route.summary,
    tags: [route.tag],
  };
  const params = [
    ...parameters('path', route.request.path, components),
    ...parameters('query', route.request.query, components),
  ];
  if (params.length > 0) op.parameters = params;
  if (route.request.body !== undefined) {
    const media: JsonObject = { schema: toJsonSchema(route.request.body, 'input', components) };
    const [example] = examplesOf(route.request.body);
    if (example !== undefined) media.example = example;
    op.requestBody = {
      required: !isOptionalProperty(route.request.body),
      content: { 'application/json': media },
    };
  }
  const responses: JsonObject = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] =
      response.schema === undefined
        ? { description: response.description }
        : {
            description: response.description,
            content: { 'application/json': { schema: toJsonSchema(response.schema, 'output', components) } },
          };
  }
  Object.assign(responses, errorResponses(route));
  if (route.auth === 'jwt') op.security = [{ [SECURITY_SCHEME]: [] }];
  op.responses = responses;
  return op;
}

/** Builds the OpenAPI 3.1 document of the given routes (every route listed, in table order). */
export function buildOpenApiDocument(
  routeList: readonly RouteDefinition[],
  options: OpenApiOptions = {},
): JsonObject {
  const components: JsonObject = {};
  const errorSchema = toJsonSchema(ErrorResponseSchema, 'output', components);
  components.Error ??= { ...errorSchema, examples: [exampleErrorBody('bad_request')] };
  components.GatewayMessage ??= {
    type: 'object',
    description: "API Gateway's own answer (authorizer refusal, throttling)",
    properties: { message: { type: 'string' } },
    required: ['message'],
  };
  const paths: JsonObject = {};
  for (const route of routeList) {
    const pathItem = isObject(paths[route.path]) ? paths[route.path] : {};
    const item: JsonObject = isObject(pathItem) ? pathItem : {};
    item[route.method.toLowerCase()] = operation(route, components);
    paths[route.path] = item;
  }
  const document: JsonObject = {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'pve-inventory API',
      version: options.version ?? '1.0.0',
      description:
        options.description ??
        'Database-first inventory of Proxmox VE virtual machines. Errors: `{error: {code, message, details?}}`. ' +
          'A request no operation below matches (unknown path or method) is answered 404 `not_found` in that shape, without authentication.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An ID or access token of the configured issuer (a Cognito user pool by default)',
        },
      },
    },
  };
  document.servers = [
    options.serverUrl === undefined
      ? { url: '/', description: 'The origin this document was fetched from (the API itself)' }
      : { url: options.serverUrl },
  ];
  return document;
}

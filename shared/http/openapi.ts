import * as z from 'zod';
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
  /** `servers[0].url`; omitted when absent (clients use the document's own origin). */
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

const errorResponse = (description: string): JsonObject => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

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
  const validates = params.length > 0 || route.request.body !== undefined;
  if (validates) responses['400'] = errorResponse('Invalid input; `details` names each bad field');
  if (route.auth === 'jwt') {
    responses['401'] = {
      description: 'Missing or invalid token (API Gateway: `{"message":"Unauthorized"}`)',
    };
    responses['403'] = errorResponse('The caller may not do this');
    op.security = [{ [SECURITY_SCHEME]: [] }];
  }
  if (route.request.path !== undefined)
    responses['404'] = errorResponse('Not found, or not visible to the caller');
  if (route.maxBodyBytes !== undefined) {
    responses['413'] = errorResponse(
      `The body is larger than ${route.maxBodyBytes} bytes, or names more than the route's documented limits`,
    );
  }
  responses['500'] = errorResponse('Internal server error (no detail)');
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
  components.Error ??= errorSchema;
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
        'Database-first inventory of Proxmox VE virtual machines. Errors: `{error: {code, message, details?}}`.',
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
  if (options.serverUrl !== undefined) document.servers = [{ url: options.serverUrl }];
  return document;
}

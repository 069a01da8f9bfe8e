import { httpHandler } from '#shared/http/middleware.ts';
import { buildOpenApiDocument } from '#shared/http/openapi.ts';
import { routeList, routes } from '#shared/http/routes.ts';

// Built once per cold start: the document only depends on the route table.
const document = buildOpenApiDocument(routeList);

/** GET /api/openapi.json — the API's OpenAPI 3.1 document (public). */
export const handler = httpHandler({
  route: routes.getOpenApi,
  handler: async () => ({ status: 200, body: document, etag: true }),
});

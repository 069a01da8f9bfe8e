import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Interactive API docs at `/docs` for the local stack: Swagger UI from the `swagger-ui-dist`
 * package (served from node_modules, no CDN), reading the API's own `/api/openapi.json`.
 */

/** A static answer of the docs. */
export interface DocsAsset {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** The docs' base path. */
export const DOCS_PATH = '/docs';

const DIST_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pve-inventory API</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

// The document's own origin: "Try it out" calls this API; paste a token from npm start under Authorize.
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });\n`;

let distDir: string | undefined;
function swaggerDist(): string {
  distDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return distDir;
}

const answer = (type: string, body: string | Buffer): DocsAsset => ({
  status: 200,
  headers: { 'content-type': type, 'cache-control': 'no-cache' },
  body: typeof body === 'string' ? Buffer.from(body) : body,
});

/** The docs' answer for a GET of `path`, or null when `path` is not below {@link DOCS_PATH}. */
export async function docsAsset(path: string): Promise<DocsAsset | null> {
  if (path === DOCS_PATH || path === `${DOCS_PATH}/`) return answer('text/html; charset=utf-8', PAGE);
  if (!path.startsWith(`${DOCS_PATH}/`)) return null;
  const name = path.slice(DOCS_PATH.length + 1);
  if (name === 'init.js') return answer('text/javascript; charset=utf-8', INIT);
  const type = DIST_FILES[name];
  if (type === undefined) return null;
  return answer(type, await readFile(join(swaggerDist(), name)));
}

import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { GatewayResponse, GatewaySite, GatewaySiteRequest } from '#local/gateway/server.ts';

/**
 * Serves the built portal (web/dist) on the API's origin, the way CloudFront serves it when
 * deployed: hashed files under `/assets/` cached for a year, `index.html` for every path without a
 * file extension (the SPA's routes), and `/config.json` written from the running stack's settings
 * (the deployed stack writes the same file at deploy time).
 */

/** The portal's runtime configuration (validated again by the SPA: web/src/lib/runtime-config.ts). */
export interface PortalRuntimeConfig {
  /** API base URL; the portal calls `${apiUrl}/api/...` */
  readonly apiUrl: string;
  /** OIDC authority (discovery at `${authority}/.well-known/openid-configuration`). */
  readonly authority: string;
  readonly clientId: string;
  /** The live updates' WebSocket URL (`ws://…/ws`); without it the portal polls. */
  readonly liveUrl?: string;
}

/** Options of {@link createPortalSite}. */
export interface PortalSiteOptions {
  /** Folder holding the built `index.html` and `assets/`. */
  readonly distDir: string;
  /** The configuration for a request's origin (e.g. `http://127.0.0.1:8080`). */
  readonly config: (origin: string) => PortalRuntimeConfig;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** The strict policy the deployed portal is served with, here with the same origin for everything. */
export const LOCAL_PORTAL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'";

const securityHeaders = {
  'content-security-policy': LOCAL_PORTAL_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const notBuilt = (): GatewayResponse => ({
  status: 503,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  body: Buffer.from('The portal is not built: run `npm run build:web` (npm start builds it when missing).\n'),
});

async function readFileOrNull(path: string): Promise<Buffer | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    return await readFile(path);
  } catch {
    return null;
  }
}

/** Creates the responder; it answers GET/HEAD only and leaves `/api/...` to the API's 404. */
export function createPortalSite(options: PortalSiteOptions): GatewaySite {
  const root = normalize(options.distDir + sep);
  return async (request: GatewaySiteRequest): Promise<GatewayResponse | null> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    const path = request.path;
    if (path === '/api' || path.startsWith('/api/')) return null;
    if (path === '/config.json') {
      const host = request.headers.host ?? '127.0.0.1';
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' },
        body: Buffer.from(JSON.stringify(options.config(`http://${host}`))),
      };
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return null;
    }
    const isFile = extname(decoded) !== '';
    const file = isFile ? normalize(join(root, decoded)) : join(root, 'index.html');
    if (!file.startsWith(root)) return null;
    const content = await readFileOrNull(file);
    if (content === null) {
      if (!isFile) return notBuilt();
      return null;
    }
    const immutable = decoded.startsWith('/assets/');
    return {
      status: 200,
      headers: {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...securityHeaders,
      },
      body: request.method === 'HEAD' ? Buffer.alloc(0) : content,
    };
  };
}

import { createHash, randomBytes } from 'node:crypto';
import type { LocalIssuer } from '#local/auth/issuer.ts';

/**
 * The OpenID Connect endpoints of the local issuer, so the portal signs in locally through the same
 * authorization code + PKCE code path it uses against Cognito: discovery, an authorize endpoint that
 * shows a sign-in page listing the demo users, a token endpoint that checks the PKCE verifier and
 * supports refresh tokens, the JWKS and an end-session endpoint (Cognito's `logout` parameters and
 * OIDC's `post_logout_redirect_uri`). Everything lives under {@link OIDC_BASE_PATH} on the gateway's
 * origin; tokens are the issuer's Cognito-shaped tokens, which the gateway's JWT authorizer verifies.
 */

/** Path prefix of the endpoints; the portal's `authority` is `<origin>/auth`. */
export const OIDC_BASE_PATH = '/auth';

/** A demo user on the sign-in page. */
export interface OidcDemoUser {
  readonly username: string;
  readonly groups: readonly string[];
  readonly role: string;
}

/** Options of {@link createOidcProvider}. */
export interface OidcProviderOptions {
  readonly issuer: LocalIssuer;
  readonly users: readonly OidcDemoUser[];
  /** Origins whose `/callback` and `/` are accepted as redirect URIs (known once the gateway listens). */
  readonly origins: () => readonly string[];
  /** Lifetime of access and ID tokens in seconds. @default 3600 */
  readonly tokenTtlSeconds?: number;
  /** Clock in milliseconds (tests). @default Date.now */
  readonly now?: () => number;
}

/** A request as the gateway hands it over. */
export interface OidcRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** An answer for the gateway to write. */
export interface OidcResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly cookies?: string[];
  readonly body: Buffer;
}

interface PendingCode {
  readonly username: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce: string | null;
  readonly expiresAt: number;
}

const CODE_TTL_MS = 60_000;
const SESSION_COOKIE = 'pve_local_session';

const json = (status: number, value: unknown): OidcResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: Buffer.from(JSON.stringify(value)),
});

/** OAuth's error answer (RFC 6749 §5.2). */
const oauthError = (status: number, error: string, description: string): OidcResponse =>
  json(status, { error, error_description: description });

const html = (status: number, page: string, cookies?: string[]): OidcResponse => ({
  status,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
  },
  body: Buffer.from(page),
  ...(cookies === undefined ? {} : { cookies }),
});

const redirect = (location: string, cookies?: string[]): OidcResponse => ({
  status: 302,
  headers: { location, 'cache-control': 'no-store' },
  body: Buffer.alloc(0),
  ...(cookies === undefined ? {} : { cookies }),
});

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const base64url = (buffer: Buffer): string => buffer.toString('base64url');

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export function s256Challenge(verifier: string): string {
  return base64url(createHash('sha256').update(verifier, 'ascii').digest());
}

function header(headers: OidcRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function cookieValue(headers: OidcRequest['headers'], name: string): string | undefined {
  const raw = header(headers, 'cookie');
  if (raw === undefined) return undefined;
  for (const part of raw.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function signInPage(params: URLSearchParams, users: readonly OidcDemoUser[]): string {
  const hidden = [...params.entries()]
    .filter(([name]) => name !== 'username')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const buttons = users
    .map(
      (u) =>
        `<li><button type="submit" name="username" value="${escapeHtml(u.username)}">${escapeHtml(u.username)}</button> <span>${escapeHtml(u.role)}</span></li>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in – pve-inventory (local)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
ul{list-style:none;padding:0}li{margin:.5rem 0;display:flex;gap:1rem;align-items:center}
button{font:inherit;min-width:8rem;padding:.5rem 1rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;border-radius:.25rem;cursor:pointer}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}span{color:#374151}
@media (prefers-color-scheme: dark){body{background:#111827;color:#f3f4f6}span{color:#d1d5db}}</style></head>
<body><main><h1>Sign in</h1><p>Local demo issuer: choose a demo user.</p>
<form method="post" action="${OIDC_BASE_PATH}/authorize">${hidden}<ul>${buttons}</ul></form></main></body></html>`;
}

/** Creates the endpoint handler; answers `null` for paths outside {@link OIDC_BASE_PATH}. */
export function createOidcProvider(options: OidcProviderOptions) {
  const { issuer, users } = options;
  const now = options.now ?? Date.now;
  const ttl = options.tokenTtlSeconds ?? 3600;
  const codes = new Map<string, PendingCode>();
  const refreshTokens = new Map<string, string>();
  const sessions = new Map<string, string>();
  const userByName = new Map(users.map((u) => [u.username, u]));

  const originOf = (request: OidcRequest): string => {
    const host = header(request.headers, 'host') ?? '127.0.0.1';
    return `http://${host}`;
  };

  const allowedRedirect = (uri: string): boolean =>
    options.origins().some((origin) => uri === `${origin}/callback` || uri === `${origin}/`);

  const discovery = (request: OidcRequest): OidcResponse => {
    const base = `${originOf(request)}${OIDC_BASE_PATH}`;
    return {
      ...json(200, {
        issuer: issuer.issuerUrl,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        jwks_uri: `${base}/.well-known/jwks.json`,
        end_session_endpoint: `${base}/logout`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'email', 'profile'],
        token_endpoint_auth_methods_supported: ['none'],
      }),
    };
  };

  /** Checks an authorization request; answers the problem in words, or null when it is valid. */
  const authorizeProblem = (params: URLSearchParams): string | null => {
    if (params.get('client_id') !== issuer.clientId) return 'unknown client_id';
    const redirectUri = params.get('redirect_uri');
    if (redirectUri === null || !allowedRedirect(redirectUri)) return 'redirect_uri is not registered';
    if (params.get('response_type') !== 'code') return 'response_type must be code';
    if (params.get('code_challenge_method') !== 'S256') return 'code_challenge_method must be S256';
    if (!/^[A-Za-z0-9_-]{43,128}$/.test(params.get('code_challenge') ?? ''))
      return 'code_challenge is missing';
    return null;
  };

  const issueCode = (params: URLSearchParams, username: string): OidcResponse => {
    const code = base64url(randomBytes(24));
    codes.set(code, {
      username,
      clientId: params.get('client_id') ?? '',
      redirectUri: params.get('redirect_uri') ?? '',
      challenge: params.get('code_challenge') ?? '',
      nonce: params.get('nonce'),
      expiresAt: now() + CODE_TTL_MS,
    });
    const target = new URL(params.get('redirect_uri') ?? '');
    target.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) target.searchParams.set('state', state);
    const session = base64url(randomBytes(24));
    sessions.set(session, username);
    return redirect(target.href, [
      `${SESSION_COOKIE}=${session}; Path=${OIDC_BASE_PATH}; HttpOnly; SameSite=Lax`,
    ]);
  };

  const authorize = (request: OidcRequest): OidcResponse => {
    const params =
      request.method === 'POST' ? new URLSearchParams(request.body.toString('utf8')) : request.query;
    const problem = authorizeProblem(params);
    if (problem !== null) {
      return html(
        400,
        `<!doctype html><html lang="en"><title>Sign-in error</title><main><h1>Sign-in error</h1><p>${escapeHtml(problem)}</p></main></html>`,
      );
    }
    if (request.method === 'POST') {
      const user = userByName.get(params.get('username') ?? '');
      if (user === undefined) return html(400, signInPage(params, users));
      return issueCode(params, user.username);
    }
    // Like Cognito's managed login: an existing session signs in again without the picker.
    const session = cookieValue(request.headers, SESSION_COOKIE);
    const sessionUser = session === undefined ? undefined : sessions.get(session);
    if (sessionUser !== undefined && params.get('prompt') !== 'login') return issueCode(params, sessionUser);
    return html(200, signInPage(params, users));
  };

  const tokensFor = async (username: string, nonce: string | null): Promise<Record<string, unknown>> => {
    const user = userByName.get(username);
    const groups = user?.groups ?? [];
    const idToken = await issuer.issueToken(username, {
      groups,
      expiresIn: ttl,
      tokenUse: 'id',
      ...(nonce === null ? {} : { extraClaims: { nonce } }),
    });
    const accessToken = await issuer.issueToken(username, {
      groups,
      expiresIn: ttl,
      tokenUse: 'access',
      extraClaims: { scope: 'openid email profile' },
    });
    const refreshToken = base64url(randomBytes(32));
    refreshTokens.set(refreshToken, username);
    return {
      access_token: accessToken,
      id_token: idToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: ttl,
    };
  };

  const token = async (request: OidcRequest): Promise<OidcResponse> => {
    if (request.method !== 'POST') return oauthError(405, 'invalid_request', 'use POST');
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grantType = form.get('grant_type');
    if (grantType === 'refresh_token') {
      const username = refreshTokens.get(form.get('refresh_token') ?? '');
      if (username === undefined || form.get('client_id') !== issuer.clientId) {
        return oauthError(400, 'invalid_grant', 'unknown refresh token');
      }
      return json(200, await tokensFor(username, null));
    }
    if (grantType !== 'authorization_code') {
      return oauthError(
        400,
        'unsupported_grant_type',
        'grant_type must be authorization_code or refresh_token',
      );
    }
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (pending === undefined || pending.expiresAt < now()) {
      return oauthError(400, 'invalid_grant', 'unknown, used or expired code');
    }
    if (form.get('client_id') !== pending.clientId || form.get('redirect_uri') !== pending.redirectUri) {
      return oauthError(
        400,
        'invalid_grant',
        'client_id or redirect_uri differs from the authorization request',
      );
    }
    const verifier = form.get('code_verifier');
    if (verifier === null || s256Challenge(verifier) !== pending.challenge) {
      return oauthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    }
    return json(200, await tokensFor(pending.username, pending.nonce));
  };

  const logout = (request: OidcRequest): OidcResponse => {
    const session = cookieValue(request.headers, SESSION_COOKIE);
    if (session !== undefined) sessions.delete(session);
    const target = request.query.get('logout_uri') ?? request.query.get('post_logout_redirect_uri');
    const clear = [`${SESSION_COOKIE}=; Path=${OIDC_BASE_PATH}; HttpOnly; SameSite=Lax; Max-Age=0`];
    if (target !== null && allowedRedirect(target)) return redirect(target, clear);
    return html(
      200,
      '<!doctype html><html lang="en"><title>Signed out</title><main><h1>Signed out</h1></main></html>',
      clear,
    );
  };

  return async (request: OidcRequest): Promise<OidcResponse | null> => {
    const { path } = request;
    if (path !== OIDC_BASE_PATH && !path.startsWith(`${OIDC_BASE_PATH}/`)) return null;
    const sub = path.slice(OIDC_BASE_PATH.length);
    switch (sub) {
      case '/.well-known/openid-configuration':
        return discovery(request);
      case '/.well-known/jwks.json':
        return json(200, issuer.jwks());
      case '/authorize':
        return authorize(request);
      case '/token':
        return token(request);
      case '/logout':
        return logout(request);
      default:
        return json(404, { message: 'Not Found' });
    }
  };
}

/** The handler {@link createOidcProvider} returns. */
export type OidcProvider = ReturnType<typeof createOidcProvider>;

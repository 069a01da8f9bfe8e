import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';

/**
 * The HTTP API JWT authorizer, locally: the token from the Authorization header (with or without
 * `Bearer `), an RS256 signature by a key of the issuer's JWKS, `iss` equal to the issuer, `aud`
 * containing a configured audience — or, when `aud` is absent, `client_id` equal to one (Cognito
 * access tokens) — `exp` present and in the future, `nbf` and `iat` not in the future. Any failure is
 * API Gateway's bare 401.
 */

/** Authorizer settings (the same values the CDK JWT authorizer is configured with). */
export interface JwtAuthorizerOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwks: JSONWebKeySet;
  /** Clock in milliseconds (tests). @default Date.now */
  readonly now?: () => number;
}

/** Outcome of an authorization: the verified claims, or why the token was refused (for logs only). */
export type AuthorizationResult =
  | { readonly ok: true; readonly claims: JWTPayload; readonly scopes: string[] | null }
  | { readonly ok: false; readonly reason: string };

/** Builds an authorizer function from its settings. */
export function createJwtAuthorizer(
  options: JwtAuthorizerOptions,
): (authorization: string | undefined) => Promise<AuthorizationResult> {
  const keySet = createLocalJWKSet(options.jwks);
  const now = options.now ?? Date.now;
  return async function authorize(authorization) {
    if (authorization === undefined || authorization.trim() === '') return { ok: false, reason: 'no token' };
    const token = authorization.trim().replace(/^Bearer\s+/i, '');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: options.issuer,
        algorithms: ['RS256'],
        requiredClaims: ['exp'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      const reason = error instanceof errors.JOSEError ? error.code : 'invalid token';
      return { ok: false, reason };
    }
    const nowSeconds = Math.floor(now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds)
      return { ok: false, reason: 'iat in the future' };
    const audiences =
      payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const audienceOk =
      payload.aud !== undefined
        ? audiences.some((aud) => options.audience.includes(aud))
        : typeof payload.client_id === 'string' && options.audience.includes(payload.client_id);
    if (!audienceOk) return { ok: false, reason: 'audience mismatch' };
    const scopes =
      typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : null;
    return { ok: true, claims: payload, scopes };
  };
}

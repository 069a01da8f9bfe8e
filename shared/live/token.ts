import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import {
  type Caller,
  callerFromClaims,
  type IdentityOptions,
  parseGroupsClaim,
} from '#shared/http/identity.ts';

/**
 * Verifies the token a WebSocket client connects (or re-authenticates) with: the same checks as
 * the HTTP API's JWT authorizer (RS256 signature by a key of the issuer's JWKS, `iss`, `aud` or —
 * Cognito access tokens — `client_id`, `exp` required and in the future, `nbf`/`iat` not in the
 * future), then the caller resolved exactly as the HTTP API resolves it (`callerFromClaims`, group
 * names compared whole and case-sensitive, from the token's own groups array).
 */

/** Settings of {@link verifyLiveToken}. */
export interface LiveTokenOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** the issuer's keys: `createRemoteJWKSet` in AWS, `createLocalJWKSet` locally */
  readonly keys: JWTVerifyGetKey;
  readonly identity: IdentityOptions;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A verified token: who, and until when. */
export interface VerifiedLiveToken {
  readonly caller: Caller;
  /** the token's `exp`, epoch ms */
  readonly expiresAtMs: number;
}

/** The token was refused; `reason` is for logs only (clients get a bare 401). */
export class LiveTokenError extends Error {
  override readonly name = 'LiveTokenError';
  constructor(readonly reason: string) {
    super(`token refused: ${reason}`);
  }
}

/** Verifies a token and resolves its caller; throws {@link LiveTokenError}. */
export async function verifyLiveToken(token: string, options: LiveTokenOptions): Promise<VerifiedLiveToken> {
  const now = options.now ?? Date.now;
  if (token.trim() === '') throw new LiveTokenError('no token');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token.trim(), options.keys, {
      issuer: options.issuer,
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(now()),
    }));
  } catch (error) {
    throw new LiveTokenError(error instanceof errors.JOSEError ? error.code : 'invalid token');
  }
  if (typeof payload.iat === 'number' && payload.iat > Math.floor(now() / 1000))
    throw new LiveTokenError('iat in the future');
  const audiences = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const audienceOk =
    payload.aud !== undefined
      ? audiences.some((aud) => options.audience.includes(aud))
      : typeof payload.client_id === 'string' && options.audience.includes(payload.client_id);
  if (!audienceOk) throw new LiveTokenError('audience mismatch');
  let caller: Caller;
  try {
    caller = callerFromClaims(
      payload,
      options.identity,
      parseGroupsClaim(payload[options.identity.groupsClaim]),
    );
  } catch {
    throw new LiveTokenError('no usable username');
  }
  return { caller, expiresAtMs: (payload.exp as number) * 1000 };
}

/**
 * The token of a WebSocket upgrade: the `token` query parameter, or the subprotocol pair
 * `bearer, <token>` (browsers cannot set an Authorization header on a WebSocket).
 */
export function tokenFromUpgrade(
  query: Readonly<Record<string, string | undefined>> | undefined,
  protocolHeader: string | undefined,
): string | undefined {
  const fromQuery = query?.token;
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  if (protocolHeader === undefined) return undefined;
  const parts = protocolHeader.split(',').map((part) => part.trim());
  const at = parts.indexOf('bearer');
  const token = at === -1 ? undefined : parts[at + 1];
  return token === undefined || token === '' ? undefined : token;
}

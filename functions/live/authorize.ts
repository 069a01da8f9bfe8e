import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { lazyDependencies } from '#shared/api/dependencies.ts';
import { LiveTokenError, tokenFromUpgrade, verifyLiveToken } from '#shared/live/token.ts';
import { liveTokenOptionsFromEnv } from '#shared/live/wiring.ts';
import { logger } from '#shared/observability/powertools.ts';

/**
 * The WebSocket API's `$connect` REQUEST authorizer: the token from `?token=` or the `bearer`
 * subprotocol, verified with `jose` against the issuer's JWKS (issuer, audience, expiry, signature)
 * and resolved to a caller exactly as the HTTP API does. Allowed: the caller and the token's expiry
 * travel to `$connect` in the authorizer context. Refused: `Unauthorized` (API Gateway's 401). The
 * query string is never logged (it holds the token).
 */
const tokenOptions = lazyDependencies(() => liveTokenOptionsFromEnv(process.env));

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const protocol = event.headers?.['Sec-WebSocket-Protocol'] ?? event.headers?.['sec-websocket-protocol'];
  const token = tokenFromUpgrade(event.queryStringParameters ?? undefined, protocol);
  try {
    const verified = await verifyLiveToken(token ?? '', tokenOptions());
    return {
      principalId: verified.caller.username,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      // Context values are scalars only.
      context: {
        username: verified.caller.username,
        admin: verified.caller.roles.admin,
        teacher: verified.caller.roles.teacher,
        token_expires_at: verified.expiresAtMs,
      },
    };
  } catch (error) {
    if (error instanceof LiveTokenError) {
      logger.info('live connection refused', { reason: error.reason });
      throw new Error('Unauthorized');
    }
    throw error;
  }
}

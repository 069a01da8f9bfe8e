import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { lazyDependencies } from '#shared/api/dependencies.ts';
import { liveWiringFromEnv } from '#shared/live/wiring.ts';
import { logger } from '#shared/observability/powertools.ts';

/**
 * The WebSocket API's routes `$connect`, `$disconnect` and `$default` (one function: they share
 * the connection store and stay a few lines each). `$connect` stores the connection with the caller
 * the authorizer verified; it must not post (the connection exists only once it returns), so the
 * client's first `hello` is answered instead.
 */
const wiring = lazyDependencies(() => liveWiringFromEnv(process.env));

/** What the authorizer passed on (API Gateway may render scalars as strings). */
const AuthorizerContextSchema = z.object({
  username: z.string().min(1),
  admin: z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]),
  teacher: z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]),
  token_expires_at: z.coerce.number().int().positive(),
});

/** The event as API Gateway sends it (the type lacks the authorizer context of `$connect`). */
export type LiveSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  readonly requestContext: { readonly authorizer?: unknown };
  readonly headers?: Readonly<Record<string, string | undefined>>;
};

export async function handler(event: LiveSocketEvent): Promise<APIGatewayProxyResultV2> {
  const { service } = wiring();
  const { routeKey, connectionId } = event.requestContext;
  switch (routeKey) {
    case '$connect': {
      const context = AuthorizerContextSchema.safeParse(event.requestContext.authorizer);
      if (!context.success) {
        logger.error('live $connect without an authorizer context');
        return { statusCode: 401 };
      }
      const { username, admin, teacher, token_expires_at } = context.data;
      await service.connect(connectionId, {
        caller: { username, roles: { admin, teacher } },
        expiresAtMs: token_expires_at,
      });
      // A browser that offered the `bearer` subprotocol must get it back, or it aborts the connection.
      const protocol = event.headers?.['Sec-WebSocket-Protocol'] ?? event.headers?.['sec-websocket-protocol'];
      return protocol?.split(',').some((part) => part.trim() === 'bearer')
        ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'bearer' } }
        : { statusCode: 200 };
    }
    case '$disconnect':
      await service.disconnect(connectionId);
      return { statusCode: 200 };
    default:
      await service.receive(connectionId, event.body);
      return { statusCode: 200 };
  }
}

import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { LivePoster } from '../ports.ts';

/**
 * The poster on API Gateway's management API (`POST/DELETE {callbackUrl}/@connections/{id}`); the
 * local gateway serves the same endpoints. A 410 (`GoneException`) means the connection is gone.
 */

function isGone(error: unknown): boolean {
  return error instanceof Error && error.name === 'GoneException';
}

export function createManagementPoster(client: ApiGatewayManagementApiClient): LivePoster {
  return {
    async post(connectionId, message) {
      try {
        await client.send(
          new PostToConnectionCommand({
            ConnectionId: connectionId,
            Data: Buffer.from(JSON.stringify(message), 'utf8'),
          }),
        );
        return 'sent';
      } catch (error) {
        if (isGone(error)) return 'gone';
        throw error;
      }
    },
    async close(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    },
  };
}

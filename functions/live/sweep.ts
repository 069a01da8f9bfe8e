import { lazyDependencies } from '#shared/api/dependencies.ts';
import { liveWiringFromEnv } from '#shared/live/wiring.ts';
import { logger } from '#shared/observability/powertools.ts';

/**
 * Scheduled: closes connections whose token expired without a `reauth` (one Query of the
 * connections partition; a message and a close only for the expired ones).
 */
const wiring = lazyDependencies(() => liveWiringFromEnv(process.env));

export async function handler(): Promise<{ closed: number }> {
  const closed = await wiring().service.sweepExpired();
  if (closed > 0) logger.info('live connections closed at token expiry', { closed });
  return { closed };
}

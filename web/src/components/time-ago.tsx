import { useClock } from '../lib/clock.ts';
import { formatAge } from '../lib/format.ts';

/**
 * "20 s ago" (or "never") on the shared one-second clock: each tick re-renders this label only,
 * not the row or page around it.
 */
export function TimeAgo({ iso }: { iso: string | null }) {
  const now = useClock();
  return <>{formatAge(iso, now)}</>;
}

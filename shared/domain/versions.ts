import { randomBytes } from 'node:crypto';
import * as z from 'zod';

/**
 * Version tokens of the read cache (README "Read cache"): a writer sets a new token after it wrote,
 * and a reader keeps what it read under the token it saw before reading. Tokens are random, so one
 * never comes back: a counter could be reset by a lost update and repeat an old value.
 */

/** A new, never repeating version token: the time (base 36) and 48 random bits. */
export function newVersionToken(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36)}.${randomBytes(6).toString('base64url')}`;
}

/** A stored version item (`SyncState`, partition `CLUSTERS`). */
export const VersionItemSchema = z.object({ version: z.string().min(1).max(64) });

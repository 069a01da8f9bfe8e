import * as z from 'zod';
import { InvalidCursorError } from './errors.ts';

/**
 * Opaque pagination cursors: the LastEvaluatedKey as base64url JSON, validated on the way back so a
 * tampered or foreign cursor is a clean `InvalidCursorError` rather than a DynamoDB error.
 */

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('invalid cursor');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InvalidCursorError('invalid cursor');
  return parsed.data;
}

/** Cursor of a cluster's VM listing. */
export const VmCursorSchema = z.object({ cluster_id: z.string().min(1), vmid: z.number().int() }).strict();

import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import type { z } from 'zod';
import type { WriteReport } from '../ports.ts';
import { InvalidStoredItemError } from './errors.ts';

export { mapWithConcurrency } from '#shared/runtime/concurrency.ts';

/** Sum of reported capacity units, or undefined when the service reported none. */
export function sumCapacity(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number | undefined {
  if (consumed === undefined) return undefined;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  let total: number | undefined;
  for (const entry of list) {
    if (entry.CapacityUnits !== undefined) total = (total ?? 0) + entry.CapacityUnits;
  }
  return total;
}

/** Report of one single-item write; unreported capacity counts as one unit. */
export function singleWrite(consumed: ConsumedCapacity | undefined, wrote = true): WriteReport {
  return { writes: wrote ? 1 : 0, capacityUnits: sumCapacity(consumed) ?? 1 };
}

export function addReports(...reports: WriteReport[]): WriteReport {
  return reports.reduce(
    (a, b) => ({ writes: a.writes + b.writes, capacityUnits: a.capacityUnits + b.capacityUnits }),
    {
      writes: 0,
      capacityUnits: 0,
    },
  );
}

/** True for a failed ConditionExpression (a refused conditional write). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Parses an item read back; a mismatch names the table, key and first issue. */
export function parseItem<S extends z.ZodType>(schema: S, item: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new InvalidStoredItemError(
      `${where}: invalid stored item: ${path}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type AuditEntry,
  type AuditEntryInput,
  AuditEntrySchema,
  auditExpiry,
  auditVmKey,
  DEFAULT_AUDIT_RETENTION_DAYS,
} from '#shared/audit/audit-entry.ts';
import type { AuditFilter, AuditPage, AuditTrail } from '#shared/audit/audit-port.ts';
import { AUDIT_BY_ACTOR_INDEX, AUDIT_BY_CLASS_INDEX, AUDIT_BY_VM_INDEX, auditKeys } from '../table-design.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { parseItem } from './helpers.ts';

type Item = Record<string, unknown>;

/** Options of {@link DynamoDbAuditTrail}. */
export interface AuditTrailOptions {
  /** Days an entry is kept (TTL). @default 400 */
  readonly retentionDays?: number;
  /** epoch ms clock (the oldest month a listing without `from` reads). @default Date.now */
  readonly now?: () => number;
}

const CursorSchema = z
  .object({
    /** the month partition being read (time listings only) */
    p: z
      .string()
      .regex(/^MONTH#\d{4}-\d{2}$/)
      .optional(),
    k: z.record(z.string(), z.union([z.string(), z.number()])),
  })
  .strict();

const StoredEntrySchema = AuditEntrySchema.extend({ pk: z.string(), sk: z.string() });

/**
 * The audit trail on DynamoDB (table AuditTrail): implements the audit port, and lists entries by
 * user, VM or class (one GSI each) or by time (monthly partitions), newest first, with an opaque
 * cursor. Other filters combine as filter expressions; a time range is a sort key condition.
 */
export class DynamoDbAuditTrail implements AuditTrail {
  private readonly retentionDays: number;
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: AuditTrailOptions = {},
  ) {
    this.retentionDays = options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
    this.now = options.now ?? Date.now;
  }

  async recordAudit(input: AuditEntryInput): Promise<void> {
    const entry = AuditEntrySchema.parse(input);
    const vmKey = auditVmKey(entry.target);
    const item: Item = {
      pk: auditKeys.monthPartition(entry.at),
      sk: auditKeys.sortKey(entry.at, entry.request_id),
      ...entry,
      expires_at: auditExpiry(entry.at, this.retentionDays),
    };
    if (vmKey !== null) item.vm_key = vmKey;
    if (entry.target.class_id !== undefined) item.class_id = entry.target.class_id;
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /**
   * Lists entries matching `filter`, newest first, at most `limit` per page; `nextCursor` continues
   * after the last entry (a last page may come back empty). Throws `InvalidCursorError` for a
   * cursor this listing did not issue.
   */
  async listAudit(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditPage> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor, CursorSchema);
    const vmKey = filter.vm === undefined ? undefined : `${filter.vm.cluster_id}#${filter.vm.vmid}`;
    // The most selective filter picks the index; the others become filter expressions.
    const keyed = [
      { index: AUDIT_BY_VM_INDEX, attribute: 'vm_key', value: vmKey },
      { index: AUDIT_BY_CLASS_INDEX, attribute: 'class_id', value: filter.classId },
      { index: AUDIT_BY_ACTOR_INDEX, attribute: 'actor', value: filter.actor },
    ].filter(
      (candidate): candidate is { index: string; attribute: string; value: string } =>
        candidate.value !== undefined,
    );
    const [by, ...others] = keyed;

    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const conditions: string[] = [];
    if (by === undefined) {
      names['#pk'] = 'pk';
      conditions.push('#pk = :pk');
    } else {
      names['#ix'] = by.attribute;
      values[':ix'] = by.value;
      conditions.push('#ix = :ix');
    }
    if (filter.fromMs !== undefined || filter.toMs !== undefined) names['#sk'] = 'sk';
    if (filter.fromMs !== undefined) values[':from'] = new Date(filter.fromMs).toISOString();
    if (filter.toMs !== undefined) values[':to'] = `${new Date(filter.toMs).toISOString()}#\uffff`;
    if (filter.fromMs !== undefined && filter.toMs !== undefined)
      conditions.push('#sk BETWEEN :from AND :to');
    else if (filter.fromMs !== undefined) conditions.push('#sk >= :from');
    else if (filter.toMs !== undefined) conditions.push('#sk <= :to');
    const filterParts = others.map((other) => {
      names[`#${other.attribute}`] = other.attribute;
      values[`:${other.attribute}`] = other.value;
      return `#${other.attribute} = :${other.attribute}`;
    });

    const partitions: (string | undefined)[] =
      by === undefined
        ? this.monthsNewestFirst(filter.fromMs, filter.toMs).filter(
            (month) => start?.p === undefined || month <= start.p,
          )
        : [undefined];
    const entries: AuditEntry[] = [];
    for (const month of partitions) {
      let exclusiveStart: Item | undefined =
        start !== undefined && (by !== undefined || month === start.p) ? start.k : undefined;
      do {
        const result = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...(by === undefined ? {} : { IndexName: by.index }),
            KeyConditionExpression: conditions.join(' AND '),
            ...(filterParts.length > 0 ? { FilterExpression: filterParts.join(' AND ') } : {}),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: month === undefined ? values : { ...values, ':pk': month },
            ScanIndexForward: false,
            Limit: limit,
            ExclusiveStartKey: exclusiveStart,
          }),
        );
        for (const item of result.Items ?? []) {
          entries.push(toEntry(item, this.tableName));
          if (entries.length === limit) {
            const key = keyOf(item, by?.attribute);
            return {
              entries,
              nextCursor: encodeCursor({ ...(month === undefined ? {} : { p: month }), k: key }),
            };
          }
        }
        exclusiveStart = result.LastEvaluatedKey;
      } while (exclusiveStart !== undefined);
    }
    return { entries, nextCursor: null };
  }

  /** Month partitions from `toMs` (default now) back to `fromMs` (default the retention), newest first. */
  private monthsNewestFirst(fromMs: number | undefined, toMs: number | undefined): string[] {
    const newest = new Date(toMs ?? this.now());
    const oldest = new Date(fromMs ?? this.now() - this.retentionDays * 86_400_000);
    const months: string[] = [];
    let year = newest.getUTCFullYear();
    let month = newest.getUTCMonth();
    const stop = oldest.getUTCFullYear() * 12 + oldest.getUTCMonth();
    while (year * 12 + month >= stop && months.length < 240) {
      months.push(auditKeys.monthPartition(Date.UTC(year, month, 1)));
      month -= 1;
      if (month < 0) {
        month = 11;
        year -= 1;
      }
    }
    return months;
  }
}

/** The key a query continues after: table keys plus the index's key. */
function keyOf(item: Item, indexAttribute: string | undefined): Item {
  const key: Item = { pk: item.pk, sk: item.sk };
  if (indexAttribute !== undefined) key[indexAttribute] = item[indexAttribute];
  return key;
}

function toEntry(item: Item, tableName: string): AuditEntry {
  const { pk: _pk, sk: _sk, ...entry } = parseItem(StoredEntrySchema, item, `${tableName} audit`);
  return entry;
}

import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { BULK_JOB_TTL_S, type BulkJob, BulkJobSchema, type BulkJobStore } from '#shared/actions/bulk-job.ts';
import { syncStateKeys } from '../table-design.ts';
import { parseItem } from './helpers.ts';

/** Bulk jobs in the SyncState table, one item each (`BULK#<id>` / `JOB`), expiring after a day. */
export class DynamoDbBulkJobStore implements BulkJobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putBulkJob(job: BulkJob): Promise<void> {
    const parsed = BulkJobSchema.parse(job);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...syncStateKeys.bulkJob(parsed.bulk_id),
          ...parsed,
          expires_at: Math.floor(parsed.created_at / 1000) + BULK_JOB_TTL_S,
        },
      }),
    );
  }

  async getBulkJob(bulkId: string): Promise<BulkJob | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: syncStateKeys.bulkJob(bulkId) }),
    );
    if (Item === undefined) return null;
    return parseItem(BulkJobSchema, Item, `${this.tableName} bulk ${bulkId}`);
  }
}

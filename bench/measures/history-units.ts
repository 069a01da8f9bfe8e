import {
  aggregateQuarter,
  bucketStart,
  type HistoryBucket,
  type PackedHistoryItem,
} from '#shared/domain/metrics-history.ts';
import { toHistoryItems } from '#shared/store/dynamodb/history-repository.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import type { BenchDynamo } from '../harness/dynamo.ts';
import { dynamoItemBytes, type HistoryUnits } from '../lib/cost-model.ts';

/**
 * The metrics history's units on the reference fleet: the buckets the window's quick passes wrote
 * are read back and put again into a scratch table set with the capacity meter on (the units
 * DynamoDB Local reports), per minute and per quarter hour over the fleet; the quarter
 * aggregation's read is the metered Query of a cluster's minute buckets, scaled to 15 minutes. A
 * window without a quarter boundary prices the aggregates of its own minutes (same code as the pass).
 */
export async function measureHistoryUnits(input: {
  dynamo: BenchDynamo;
  tables: TableNames;
  clusterIds: readonly string[];
}): Promise<HistoryUnits> {
  const { dynamo } = input;
  const repos = createDynamoDbRepositories(dynamo.documentClient, input.tables);
  const everything = { from: 0, to: Date.UTC(2100, 0, 1) };
  const minutes: HistoryBucket[] = [];
  const quarters: HistoryBucket[] = [];
  dynamo.meter.reset();
  for (const id of input.clusterIds) {
    minutes.push(...(await repos.history.queryBuckets(id, '1m', everything.from, everything.to)));
  }
  const minuteReadRcu = dynamo.meter.totals().rcu;
  for (const id of input.clusterIds) {
    quarters.push(...(await repos.history.queryBuckets(id, '15m', everything.from, everything.to)));
  }
  // A short window may hold no quarter boundary: aggregate its minutes with the pass's own code.
  if (quarters.length === 0) {
    for (const id of input.clusterIds) {
      const own = minutes.filter((b) => b.cluster_id === id);
      for (const quarter of new Set(own.map((b) => bucketStart(b.t, '15m')))) {
        quarters.push(...aggregateQuarter(own, quarter));
      }
    }
  }
  const distinctMinutes = new Set(minutes.map((b) => b.t)).size;
  const distinctQuarters = new Set(quarters.map((b) => b.t)).size;

  const scratch = await dynamo.createTableSet('history');
  const scratchRepos = createDynamoDbRepositories(dynamo.documentClient, scratch);
  dynamo.meter.reset();
  await scratchRepos.history.putBuckets(minutes);
  const minuteWcu = dynamo.meter.totals().wcu;
  dynamo.meter.reset();
  await scratchRepos.history.putBuckets(quarters);
  const quarterWcu = dynamo.meter.totals().wcu;

  // What is stored: one packed item per cluster and bucket.
  const minuteItems = toHistoryItems(minutes);
  const quarterItems = toHistoryItems(quarters);
  const meanBytes = (items: readonly PackedHistoryItem[]) =>
    items.length === 0 ? 0 : items.reduce((s, item) => s + dynamoItemBytes(item), 0) / items.length;
  return {
    minuteWcu: distinctMinutes === 0 ? 0 : minuteWcu / distinctMinutes,
    quarterWcu: distinctQuarters === 0 ? 0 : quarterWcu / distinctQuarters,
    quarterRcu: distinctMinutes === 0 ? 0 : (minuteReadRcu * 15) / distinctMinutes,
    minuteItemsPerMinute: distinctMinutes === 0 ? 0 : minuteItems.length / distinctMinutes,
    quarterItemsPerQuarter: distinctQuarters === 0 ? 0 : quarterItems.length / distinctQuarters,
    minuteItemBytes: meanBytes(minuteItems),
    quarterItemBytes: meanBytes(quarterItems),
    windowMinutes: distinctMinutes,
  };
}

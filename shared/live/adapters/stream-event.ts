import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LiveSource, LiveStreamRecord } from '../changes.ts';

/**
 * DynamoDB Streams records as Lambda delivers them (DynamoDB JSON images), turned into the live
 * core's records: images unmarshalled, the table recognized from the event source ARN, deletions by
 * TTL marked (DynamoDB's own principal).
 */

/** The table name in a stream ARN (`…:table/<name>/stream/<label>`). */
export function tableOfStreamArn(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : /:table\/([^/]+)\/stream\//.exec(arn)?.[1];
}

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

function plain(image: Image | undefined): Record<string, unknown> | undefined {
  // The Lambda event's attribute values are the SDK's DynamoDB JSON under another type name.
  return image === undefined ? undefined : unmarshall(image as Parameters<typeof unmarshall>[0]);
}

/** Converts the records of a stream event; records of unknown tables or without a sequence number are left out. */
export function toLiveRecords(
  records: readonly DynamoDBRecord[],
  sourceOfTable: (tableName: string) => LiveSource | undefined,
): LiveStreamRecord[] {
  const result: LiveStreamRecord[] = [];
  for (const record of records) {
    const table = tableOfStreamArn(record.eventSourceARN);
    const source = table === undefined ? undefined : sourceOfTable(table);
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const eventName = record.eventName;
    if (source === undefined || sequenceNumber === undefined || eventName === undefined) continue;
    result.push({
      source,
      eventName,
      sequenceNumber,
      oldImage: plain(record.dynamodb?.OldImage),
      newImage: plain(record.dynamodb?.NewImage),
      ttlDelete: record.userIdentity?.principalId === 'dynamodb.amazonaws.com',
    });
  }
  return result;
}

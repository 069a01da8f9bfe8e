import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ClassSchedule,
  ClassScheduleSchema,
  type ClassScheduleStore,
} from '#shared/schedules/class-schedule.ts';
import { ownershipKeys } from '../table-design.ts';
import { isConditionalCheckFailed, parseItem } from './helpers.ts';

/** Class schedules in the Ownership table, all in one partition (`SCHEDULES` / class id). */
export class DynamoDbClassScheduleStore implements ClassScheduleStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getSchedule(classId: string): Promise<ClassSchedule | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: ownershipKeys.schedule(classId),
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? null : parseItem(ClassScheduleSchema, Item, `${this.tableName} schedule`);
  }

  async putSchedule(schedule: Omit<ClassSchedule, 'evaluated_until'>): Promise<ClassSchedule> {
    // An update, not a put: how far the schedule was evaluated survives a change of its settings.
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: ownershipKeys.schedule(schedule.class_id),
        // every attribute by name: several (e.g. `timezone`) are DynamoDB reserved words
        UpdateExpression:
          'SET #c = :c, #tz = :tz, #start = :start, #stop = :stop, #up = :up, #idle = :idle, #by = :by, ' +
          '#at = :at, #until = if_not_exists(#until, :none)',
        ExpressionAttributeNames: {
          '#c': 'class_id',
          '#tz': 'timezone',
          '#start': 'start_cron',
          '#stop': 'shutdown_cron',
          '#up': 'max_uptime_hours',
          '#idle': 'idle',
          '#by': 'updated_by',
          '#at': 'updated_at',
          '#until': 'evaluated_until',
        },
        ExpressionAttributeValues: {
          ':c': schedule.class_id,
          ':tz': schedule.timezone,
          ':start': schedule.start_cron,
          ':stop': schedule.shutdown_cron,
          ':up': schedule.max_uptime_hours,
          ':idle': schedule.idle,
          ':by': schedule.updated_by,
          ':at': schedule.updated_at,
          ':none': null,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parseItem(ClassScheduleSchema, Attributes, `${this.tableName} schedule`);
  }

  async deleteSchedule(classId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: ownershipKeys.schedule(classId) }),
    );
  }

  async listSchedules(): Promise<ClassSchedule[]> {
    const schedules: ClassSchedule[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': ownershipKeys.schedulesPartition },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        schedules.push(parseItem(ClassScheduleSchema, item, `${this.tableName} schedule`));
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return schedules;
  }

  async claimWindow(classId: string, previous: number | null, until: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ownershipKeys.schedule(classId),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: 'attribute_exists(pk) AND #until = :previous',
          ExpressionAttributeNames: { '#until': 'evaluated_until' },
          ExpressionAttributeValues: { ':until': until, ':previous': previous },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  type AssignmentInput,
  AssignmentSchema,
  type ClassDetails,
  type ClassInfo,
  type ClassInfoInput,
  ClassInfoSchema,
  type ClassMember,
  ClassMemberSchema,
  type ClassRole,
  type ClassVm,
  ClassVmSchema,
} from '#shared/domain/ownership.ts';
import type { VmKey } from '#shared/domain/vm-record.ts';
import type { AssignmentKey, OwnershipRepository, WriteReport } from '../ports.ts';
import { OWNERSHIP_BY_MEMBER_INDEX, OWNERSHIP_BY_VM_INDEX, ownershipKeys } from '../table-design.ts';
import {
  batchGetAll,
  batchWriteAll,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type WriteRequest,
} from './batch-operations.ts';
import { addReports, isConditionalCheckFailed, parseItem, singleWrite, sumCapacity } from './helpers.ts';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Item kinds of the Ownership table (`entity` attribute). */
const ENTITY = { assignment: 'assignment', class: 'class', member: 'member', classVm: 'class_vm' } as const;

export interface OwnershipRepositoryOptions {
  retryPolicy?: RetryPolicy;
}

function assignmentItem(input: AssignmentInput): Item {
  const a = AssignmentSchema.parse(input);
  return {
    pk: ownershipKeys.userPartition(a.username),
    sk: ownershipKeys.assignmentSortKey(a.cluster_id, a.vmid, a.source, a.class_id),
    entity: ENTITY.assignment,
    vm_key: ownershipKeys.vmKey(a.cluster_id, a.vmid),
    ...a,
  };
}

function assignmentKeyOf(key: AssignmentKey): Item {
  return {
    pk: ownershipKeys.userPartition(key.username),
    sk: ownershipKeys.assignmentSortKey(key.cluster_id, key.vmid, key.source, key.class_id ?? null),
  };
}

/** DynamoDB adapter of {@link OwnershipRepository}. */
export class DynamoDbOwnershipRepository implements OwnershipRepository {
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: OwnershipRepositoryOptions = {},
  ) {
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  }

  async putAssignment(assignment: AssignmentInput): Promise<WriteReport> {
    const result = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: assignmentItem(assignment),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async putAssignments(assignments: readonly AssignmentInput[]): Promise<WriteReport> {
    // Validate every item before the first write, so a bad one writes nothing.
    const items = assignments.map(assignmentItem);
    return batchWriteAll(
      this.client,
      this.tableName,
      items.map((Item) => ({ PutRequest: { Item } })),
      this.retryPolicy,
    );
  }

  async deleteAssignment(key: AssignmentKey): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: assignmentKeyOf(key),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async listAssignmentsOfUser(
    username: string,
    options: { includeSuspended?: boolean } = {},
  ): Promise<Assignment[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': ownershipKeys.userPartition(username), ':prefix': 'ASSIGN#' },
    });
    const assignments = items.map((item) => this.parseAssignment(item));
    return options.includeSuspended ? assignments : assignments.filter((a) => !a.suspended);
  }

  async getAssignments(keys: readonly AssignmentKey[]): Promise<Assignment[]> {
    const unique = new Map<string, Item>();
    for (const key of keys) {
      const item = assignmentKeyOf(key);
      unique.set(`${String(item.pk)}\u0000${String(item.sk)}`, item);
    }
    const items = await batchGetAll(this.client, this.tableName, [...unique.values()], {}, this.retryPolicy);
    return items.map((item) => this.parseAssignment(item));
  }

  async listOwnersOfVm(key: VmKey): Promise<Assignment[]> {
    const items = await this.queryByVm(key);
    return items
      .filter((item) => item.entity === ENTITY.assignment)
      .map((item) => this.parseAssignment(item));
  }

  async listAllAssignments(): Promise<Assignment[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const result = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'entity = :e',
          ExpressionAttributeValues: { ':e': ENTITY.assignment },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return items.map((item) => this.parseAssignment(item));
  }

  async suspendVm(key: VmKey, atMs: number, options: { createdBefore?: number } = {}): Promise<WriteReport> {
    const { createdBefore } = options;
    const items = (await this.queryByVm(key)).filter(
      (item) =>
        item.suspended !== true &&
        (createdBefore === undefined ||
          typeof item.created_at !== 'number' ||
          item.created_at <= createdBefore),
    );
    const reports: WriteReport[] = [];
    for (const item of items) {
      try {
        const result = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: item.pk, sk: item.sk },
            UpdateExpression: 'SET suspended = :t, suspended_at = :at',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':t': true, ':at': atMs },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        reports.push(singleWrite(result.ConsumedCapacity));
      } catch (error) {
        // Deleted since the index was read: nothing left to suspend.
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    return addReports(...reports);
  }

  async putClass(info: ClassInfoInput): Promise<WriteReport> {
    const parsed = ClassInfoSchema.parse(info);
    const result = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: ownershipKeys.classesPartition, sk: parsed.class_id, entity: ENTITY.class, ...parsed },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async getClass(classId: string): Promise<ClassDetails | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: ownershipKeys.classesPartition, sk: classId } }),
    );
    if (!result.Item) return null;
    const info = parseItem(ClassInfoSchema, result.Item, `${this.tableName} class ${classId}`);
    const items = await this.classItems(classId);
    const details: ClassDetails = { info, teachers: [], students: [], vms: [] };
    for (const item of items) {
      if (item.entity === ENTITY.member) {
        const member = parseItem(ClassMemberSchema, item, `${this.tableName} ${String(item.sk)}`);
        (member.role === 'teacher' ? details.teachers : details.students).push(member.username);
      } else if (item.entity === ENTITY.classVm) {
        details.vms.push(parseItem(ClassVmSchema, item, `${this.tableName} ${String(item.sk)}`));
      }
    }
    return details;
  }

  async listClasses(): Promise<ClassInfo[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': ownershipKeys.classesPartition },
    });
    return items.map((item) =>
      parseItem(ClassInfoSchema, item, `${this.tableName} class ${String(item.sk)}`),
    );
  }

  async deleteClass(classId: string): Promise<WriteReport> {
    const items = await this.classItems(classId);
    const requests: WriteRequest[] = [];
    for (const item of items) {
      requests.push({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } });
      if (item.entity === ENTITY.classVm && typeof item.student === 'string') {
        const vm = parseItem(ClassVmSchema, item, `${this.tableName} ${String(item.sk)}`);
        requests.push({ DeleteRequest: { Key: this.classAssignmentKey(classId, vm, item.student) } });
      }
    }
    requests.push({ DeleteRequest: { Key: { pk: ownershipKeys.classesPartition, sk: classId } } });
    return batchWriteAll(this.client, this.tableName, requests, this.retryPolicy);
  }

  async addClassMember(classId: string, username: string, role: ClassRole): Promise<WriteReport> {
    const member = ClassMemberSchema.parse({ class_id: classId, username, role });
    const result = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: ownershipKeys.classPartition(classId),
          sk: ownershipKeys.memberSortKey(username),
          entity: ENTITY.member,
          member: username,
          ...member,
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async removeClassMember(classId: string, username: string): Promise<WriteReport> {
    const result = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: ownershipKeys.classPartition(classId), sk: ownershipKeys.memberSortKey(username) },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async listClassesOfUser(username: string): Promise<ClassMember[]> {
    const items = await this.query({
      IndexName: OWNERSHIP_BY_MEMBER_INDEX,
      KeyConditionExpression: '#member = :m',
      ExpressionAttributeNames: { '#member': 'member' },
      ExpressionAttributeValues: { ':m': username },
    });
    return items.map((item) => parseItem(ClassMemberSchema, item, `${this.tableName} ${String(item.sk)}`));
  }

  async assignClassVm(
    classId: string,
    key: VmKey,
    student: string | null,
    atMs: number,
  ): Promise<WriteReport> {
    const link = ClassVmSchema.parse({ class_id: classId, ...key, student, suspended: false });
    const linkKey = {
      pk: ownershipKeys.classPartition(classId),
      sk: ownershipKeys.classVmSortKey(key.cluster_id, key.vmid),
    };
    const previous = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: linkKey, ConsistentRead: true }),
    );
    const previousStudent = typeof previous.Item?.student === 'string' ? previous.Item.student : null;

    const actions: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...linkKey,
            entity: ENTITY.classVm,
            vm_key: ownershipKeys.vmKey(key.cluster_id, key.vmid),
            ...link,
          },
        },
      },
    ];
    if (previousStudent !== null && previousStudent !== student) {
      actions.push({
        Delete: { TableName: this.tableName, Key: this.classAssignmentKey(classId, key, previousStudent) },
      });
    }
    if (student !== null) {
      actions.push({
        Put: {
          TableName: this.tableName,
          Item: assignmentItem({
            username: student,
            ...key,
            source: 'class',
            class_id: classId,
            created_at: atMs,
          }),
        },
      });
    }
    return this.transact(actions);
  }

  async removeClassVm(classId: string, key: VmKey): Promise<WriteReport> {
    const linkKey = {
      pk: ownershipKeys.classPartition(classId),
      sk: ownershipKeys.classVmSortKey(key.cluster_id, key.vmid),
    };
    const previous = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: linkKey, ConsistentRead: true }),
    );
    if (!previous.Item) return { writes: 0, capacityUnits: 0 };
    const actions: TransactItem[] = [{ Delete: { TableName: this.tableName, Key: linkKey } }];
    if (typeof previous.Item.student === 'string') {
      actions.push({
        Delete: {
          TableName: this.tableName,
          Key: this.classAssignmentKey(classId, key, previous.Item.student),
        },
      });
    }
    return this.transact(actions);
  }

  async listClassesOfVm(key: VmKey): Promise<ClassVm[]> {
    const items = await this.queryByVm(key);
    return items
      .filter((item) => item.entity === ENTITY.classVm)
      .map((item) => parseItem(ClassVmSchema, item, `${this.tableName} ${String(item.sk)}`));
  }

  private classAssignmentKey(classId: string, key: VmKey, student: string): Item {
    return assignmentKeyOf({ username: student, ...key, source: 'class', class_id: classId });
  }

  private async transact(actions: TransactItem[]): Promise<WriteReport> {
    const result = await this.client.send(
      new TransactWriteCommand({ TransactItems: actions, ReturnConsumedCapacity: 'TOTAL' }),
    );
    // Transactional writes cost two units per item; reported when the service reports it.
    return {
      writes: actions.length,
      capacityUnits: sumCapacity(result.ConsumedCapacity) ?? actions.length * 2,
    };
  }

  private classItems(classId: string): Promise<Item[]> {
    return this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': ownershipKeys.classPartition(classId) },
      ConsistentRead: true,
    });
  }

  private queryByVm(key: VmKey): Promise<Item[]> {
    return this.query({
      IndexName: OWNERSHIP_BY_VM_INDEX,
      KeyConditionExpression: 'vm_key = :k',
      ExpressionAttributeValues: { ':k': ownershipKeys.vmKey(key.cluster_id, key.vmid) },
    });
  }

  private parseAssignment(item: Item): Assignment {
    return parseItem(AssignmentSchema, item, `${this.tableName} ${String(item.pk)}/${String(item.sk)}`);
  }

  private async query(input: {
    IndexName?: string;
    KeyConditionExpression: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
    ConsistentRead?: boolean;
  }): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({ TableName: this.tableName, ...input, ExclusiveStartKey: startKey }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

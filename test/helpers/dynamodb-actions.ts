import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDbAction } from '#infra/constructs/pve-function.ts';

/**
 * Records which DynamoDB actions (as IAM names them) each caller makes, by table and index. A
 * middleware on the client reads the caller's label from an AsyncLocalStorage, so concurrent
 * handlers in one process are told apart. Transactions count as the actions they contain, as
 * IAM authorizes them.
 */
export interface ActionRecorder {
  /** Adds the recording middleware to a client (once per client). */
  attach(client: DynamoDBDocumentClient): void;
  /** Runs `fn` with every DynamoDB call it makes recorded under `label`. */
  run<T>(label: string, fn: () => T): T;
  /** `label → "table action"` or `"table/index/name action"` (table names as the client saw them). */
  calls(): Map<string, Set<string>>;
}

type Input = Record<string, unknown>;

const isRecord = (value: unknown): value is Input => typeof value === 'object' && value !== null;

const SINGLE_TABLE_ACTIONS: Readonly<Record<string, DynamoDbAction>> = {
  GetItemCommand: 'GetItem',
  GetCommand: 'GetItem',
  PutItemCommand: 'PutItem',
  PutCommand: 'PutItem',
  UpdateItemCommand: 'UpdateItem',
  UpdateCommand: 'UpdateItem',
  DeleteItemCommand: 'DeleteItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
};

const TRANSACT_ACTIONS: Readonly<Record<string, DynamoDbAction>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** The `table action` entries one command stands for. */
export function actionsOfCommand(commandName: string, input: Input): string[] {
  const single = SINGLE_TABLE_ACTIONS[commandName];
  if (single !== undefined) {
    const table = String(input.TableName);
    return [
      typeof input.IndexName === 'string'
        ? `${table}/index/${input.IndexName} ${single}`
        : `${table} ${single}`,
    ];
  }
  if (commandName.startsWith('BatchGet') || commandName.startsWith('BatchWrite')) {
    const action: DynamoDbAction = commandName.startsWith('BatchGet') ? 'BatchGetItem' : 'BatchWriteItem';
    return Object.keys(isRecord(input.RequestItems) ? input.RequestItems : {}).map(
      (table) => `${table} ${action}`,
    );
  }
  if (commandName.startsWith('TransactWrite') || commandName.startsWith('TransactGet')) {
    const items = Array.isArray(input.TransactItems) ? input.TransactItems : [];
    return items.flatMap((item: unknown) =>
      isRecord(item)
        ? Object.entries(item).flatMap(([kind, operation]) => {
            const action = TRANSACT_ACTIONS[kind];
            return action !== undefined && isRecord(operation)
              ? [`${String(operation.TableName)} ${action}`]
              : [];
          })
        : [],
    );
  }
  return [`? ${commandName}`];
}

/** Creates a recorder; calls outside any `run` are recorded under `(unlabelled)`. */
export function createActionRecorder(): ActionRecorder {
  const storage = new AsyncLocalStorage<string>();
  const recorded = new Map<string, Set<string>>();
  const attached = new WeakSet<object>();
  return {
    attach(client) {
      if (attached.has(client.middlewareStack)) return;
      attached.add(client.middlewareStack);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const label = storage.getStore() ?? '(unlabelled)';
          const input = isRecord(args.input) ? args.input : {};
          const entries = recorded.get(label) ?? new Set<string>();
          for (const entry of actionsOfCommand(context.commandName ?? '?', input)) entries.add(entry);
          recorded.set(label, entries);
          return next(args);
        },
        { step: 'initialize', name: 'testActionRecorder' },
      );
    },
    run: (label, fn) => storage.run(label, fn),
    calls: () => recorded,
  };
}

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Repositories } from '../ports.ts';
import type { TableNames } from '../table-design.ts';
import { versionedInventory, versionedOwnership } from '../versioned.ts';
import type { RetryPolicy } from './batch-operations.ts';
import { DynamoDbHistoryRepository } from './history-repository.ts';
import { DynamoDbInventoryRepository } from './inventory-repository.ts';
import { DynamoDbOwnershipRepository } from './ownership-repository.ts';
import { DynamoDbSyncStateRepository } from './sync-state-repository.ts';

/**
 * Wires the DynamoDB repositories on one client, their writers keeping the read cache's versions
 * (the metrics history lives in the SyncState table).
 */
export function createDynamoDbRepositories(
  client: DynamoDBDocumentClient,
  tables: TableNames,
  options: { retryPolicy?: RetryPolicy; now?: () => number } = {},
): Repositories {
  const syncState = new DynamoDbSyncStateRepository(client, tables.syncState, options);
  // Writers keep the read cache's versions (see versioned.ts).
  return {
    inventory: versionedInventory(
      new DynamoDbInventoryRepository(client, tables.inventory, options),
      syncState,
    ),
    syncState,
    ownership: versionedOwnership(
      new DynamoDbOwnershipRepository(client, tables.ownership, options),
      syncState,
    ),
    history: new DynamoDbHistoryRepository(client, tables.syncState, options),
  };
}

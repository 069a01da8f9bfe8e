import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTables, localClientConfig, prefixedTableNames } from '#local/dynamodb-local.ts';
import { createDocumentClient } from '#shared/clients/dynamodb.ts';
import type { AllTableNames } from '#shared/store/table-design.ts';

/** Endpoint of the run's DynamoDB Local (published by test/setup/dynamodb-global-setup.ts). */
export function dynamoDbEndpoint(): string {
  return inject('dynamodbEndpoint');
}

/** A DocumentClient (and its low-level client) on the run's DynamoDB Local. */
export function localDocumentClient(): { client: DynamoDBClient; documentClient: DynamoDBDocumentClient } {
  const config = localClientConfig(dynamoDbEndpoint());
  return { client: new DynamoDBClient(config), documentClient: createDocumentClient(config) };
}

export interface TestTables {
  names: AllTableNames;
  client: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  /** Deletes the tables and closes the clients (call in afterAll). */
  drop(): Promise<void>;
}

/**
 * Creates the tables under unique names (a random prefix per call), so test files running in
 * parallel on the shared DynamoDB Local never see each other's data.
 */
export async function createTestTables(label = 't'): Promise<TestTables> {
  const prefix = `${label.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}-`;
  const names = prefixedTableNames(prefix);
  const { client, documentClient } = localDocumentClient();
  await createTables(client, names);
  return {
    names,
    client,
    documentClient,
    async drop() {
      await Promise.all(
        Object.values(names).map((TableName) =>
          client.send(new DeleteTableCommand({ TableName })).catch(() => undefined),
        ),
      );
      documentClient.destroy();
      client.destroy();
    },
  };
}

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { attachWritePacing } from '#shared/store/dynamodb/write-pacing.ts';
import type { TableNames } from '#shared/store/table-design.ts';

/**
 * DynamoDB DocumentClient factory. In Lambda the SDK defaults apply (region and credentials from the
 * runtime). Locally `DYNAMODB_ENDPOINT` points at DynamoDB Local, which needs a region and any
 * non-empty credentials: fake ones are supplied when none are set.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** Thrown when a required environment variable is missing; the message names it. */
export class MissingSettingError extends Error {
  override readonly name = 'MissingSettingError';
}

/** Client options derived from the environment (exported for tests). */
export function dynamoDbClientConfig(env: Env): DynamoDBClientConfig {
  const endpoint = env.DYNAMODB_ENDPOINT;
  if (!endpoint) return {};
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY);
  return {
    endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'local',
    ...(hasCredentials ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  };
}

/** Creates a DocumentClient: undefined values are dropped, so optional attributes need no care. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

let shared: DynamoDBDocumentClient | undefined;

/** The module-scope DocumentClient of this process, created once from `process.env`. */
export function getDocumentClient(): DynamoDBDocumentClient {
  shared ??= createDocumentClient(dynamoDbClientConfig(process.env));
  return shared;
}

let paced: DynamoDBDocumentClient | undefined;

/**
 * The sync's DocumentClient: like {@link getDocumentClient}, with write pacing per table (a token
 * bucket that adapts to throttling, and retries within tens of seconds). Only the sync writes in
 * bulk; the API's single writes keep the plain client and its short retries.
 */
export function getPacedDocumentClient(): DynamoDBDocumentClient {
  if (!paced) {
    paced = createDocumentClient(dynamoDbClientConfig(process.env));
    attachWritePacing(paced);
  }
  return paced;
}

/** Table names from `INVENTORY_TABLE`, `SYNC_STATE_TABLE`, `OWNERSHIP_TABLE`; fails naming the missing one. */
export function tableNamesFromEnv(env: Env = process.env): TableNames {
  const read = (name: string) => {
    const value = env[name];
    if (!value) throw new MissingSettingError(`environment variable ${name} is not set`);
    return value;
  };
  return {
    inventory: read('INVENTORY_TABLE'),
    syncState: read('SYNC_STATE_TABLE'),
    ownership: read('OWNERSHIP_TABLE'),
  };
}

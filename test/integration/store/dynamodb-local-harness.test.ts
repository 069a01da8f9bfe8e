import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  assertJavaAvailable,
  DynamoDbLocalNotInstalledError,
  JAVA_REQUIRED_MESSAGE,
  JavaNotFoundError,
  localClientConfig,
  startDynamoDbLocal,
} from '#local/dynamodb-local.ts';
import { dynamoDbEndpoint } from '../../helpers/dynamodb.ts';

describe('DynamoDB Local harness', () => {
  it('serves the run from one loopback endpoint', async () => {
    const endpoint = dynamoDbEndpoint();
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new DynamoDBClient(localClientConfig(endpoint));
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    client.destroy();
  });

  it('says in one line what to install when Java is missing', () => {
    expect(() => assertJavaAvailable('/nonexistent/java')).toThrow(JavaNotFoundError);
    expect(() => assertJavaAvailable('/nonexistent/java')).toThrow(JAVA_REQUIRED_MESSAGE);
    expect(JAVA_REQUIRED_MESSAGE).not.toContain('\n');
  });

  it('says to run npm install when the jar is missing', async () => {
    await expect(startDynamoDbLocal({ installDir: '/nonexistent/dir' })).rejects.toThrow(
      DynamoDbLocalNotInstalledError,
    );
    await expect(startDynamoDbLocal({ installDir: '/nonexistent/dir' })).rejects.toThrow(/run npm install/);
  });
});

import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '#local/dynamodb-local.ts';

/**
 * Vitest global setup of `integration-serial`: a DynamoDB Local of its own. The heaviest files run
 * last, and the run's shared instance has by then served every other file: in one clean-clone run
 * the 1,000 action interleavings took 187 s on it (their timeout is 180 s) where they take 39–50 s
 * on a fresh one. The JVM waits idle (memory only) until their turn.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const local = await startDynamoDbLocal();
  project.provide('dynamodbEndpoint', local.endpoint);
  return async () => {
    await local.stop();
  };
}

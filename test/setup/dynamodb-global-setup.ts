import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '#local/dynamodb-local.ts';

/**
 * Vitest global setup of the integration and e2e projects: one DynamoDB Local serves the whole run.
 * Vitest runs a project's global setup per project, so the instance is shared through `globalThis`
 * with a reference count and stopped by the last teardown. Test files create their own uniquely
 * named tables (test/helpers/dynamodb.ts), so they never collide.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** endpoint of the run's DynamoDB Local, e.g. http://127.0.0.1:8123 */
    dynamodbEndpoint: string;
  }
}

interface SharedInstance {
  local: Promise<DynamoDbLocal>;
  users: number;
}

const KEY = Symbol.for('pve-inventory.dynamodb-local');
const registry = globalThis as typeof globalThis & { [KEY]?: SharedInstance };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = registry[KEY];
  if (!shared) {
    shared = { local: startDynamoDbLocal(), users: 0 };
    registry[KEY] = shared;
  }
  shared.users++;
  const local = await shared.local;
  project.provide('dynamodbEndpoint', local.endpoint);

  return async () => {
    const current = registry[KEY];
    if (!current) return;
    current.users--;
    if (current.users === 0) {
      delete registry[KEY];
      await (await current.local).stop();
    }
  };
}

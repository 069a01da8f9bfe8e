import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A global secondary index that lags its table, as DynamoDB's do (DynamoDB Local updates them at
 * once): a client middleware that leaves the items a test chooses out of queries on the index
 * until the test says the index caught up.
 */

export interface LaggingIndex {
  /** Items for which `lagging` is true are missing from the index's query answers. */
  lag(lagging: (item: Record<string, unknown>) => boolean): void;
  catchUp(): void;
  /** Items left out so far. */
  readonly hidden: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

export function attachIndexLag(client: DynamoDBDocumentClient, indexName: string): LaggingIndex {
  let lagging: ((item: Record<string, unknown>) => boolean) | null = null;
  let hidden = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input: unknown = args.input;
      const output: unknown = result.output;
      if (
        lagging === null ||
        context.commandName !== 'QueryCommand' ||
        !isRecord(input) ||
        input.IndexName !== indexName ||
        !isRecord(output) ||
        !Array.isArray(output.Items)
      )
        return result;
      const test = lagging;
      const kept = output.Items.filter((item: unknown) => !(isRecord(item) && test(item)));
      hidden += output.Items.length - kept.length;
      output.Items = kept;
      output.Count = kept.length;
      return result;
    },
    { step: 'initialize', name: 'testIndexLag', priority: 'low' },
  );
  return {
    lag(predicate) {
      lagging = predicate;
    },
    catchUp() {
      lagging = null;
    },
    get hidden() {
      return hidden;
    },
  };
}

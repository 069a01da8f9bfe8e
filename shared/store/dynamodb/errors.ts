/** Errors of the DynamoDB adapters, named for the condition. */

/**
 * Batch writes still had unprocessed items after every retry; `written` reports what the other
 * items cost (those writes stay).
 */
export class BatchWriteIncompleteError extends Error {
  override readonly name = 'BatchWriteIncompleteError';
  constructor(
    readonly tableName: string,
    readonly unprocessed: number,
    readonly attempts: number,
    readonly written: { writes: number; capacityUnits: number } = { writes: 0, capacityUnits: 0 },
  ) {
    super(
      `BatchWriteItem on ${tableName}: ${unprocessed} item(s) still unprocessed after ${attempts} attempts (${written.writes} written)`,
    );
  }
}

/** Batch reads still had unprocessed keys after every retry. */
export class BatchGetIncompleteError extends Error {
  override readonly name = 'BatchGetIncompleteError';
  constructor(
    readonly tableName: string,
    readonly unprocessed: number,
    readonly attempts: number,
  ) {
    super(`BatchGetItem on ${tableName}: ${unprocessed} key(s) still unprocessed after ${attempts} attempts`);
  }
}

/** A pagination cursor that this store did not issue (or issued for another listing). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/** An item read back does not match its schema. */
export class InvalidStoredItemError extends Error {
  override readonly name = 'InvalidStoredItemError';
}

/** Recording a pending action kept being refused although no action was pending (heavy contention). */
export class PendingContentionError extends Error {
  override readonly name = 'PendingContentionError';
  constructor(vm: string) {
    super(`could not record a pending action on ${vm}: the item kept changing`);
  }
}

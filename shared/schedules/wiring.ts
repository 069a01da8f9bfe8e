import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import { DynamoDbClassScheduleStore } from '#shared/store/dynamodb/class-schedule-repository.ts';
import type { ClassScheduleStore } from './class-schedule.ts';

let store: ClassScheduleStore | undefined;

/** The process's schedule store (the Ownership table of the environment), created on first use. */
export function defaultScheduleStore(): ClassScheduleStore {
  store ??= new DynamoDbClassScheduleStore(getDocumentClient(), tableNamesFromEnv(process.env).ownership);
  return store;
}

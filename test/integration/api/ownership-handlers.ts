import { createCreateClassHandler } from '#functions/api/create-class.ts';
import { createDeleteAssignmentHandler } from '#functions/api/delete-assignment.ts';
import { createDeleteClassHandler } from '#functions/api/delete-class.ts';
import { createDeleteClassMemberHandler } from '#functions/api/delete-class-member.ts';
import { createDeleteClassScheduleHandler } from '#functions/api/delete-class-schedule.ts';
import { createDeleteClassVmHandler } from '#functions/api/delete-class-vm.ts';
import { createGetClassHandler } from '#functions/api/get-class.ts';
import { createGetClassScheduleHandler } from '#functions/api/get-class-schedule.ts';
import { createImportMappingsHandler } from '#functions/api/import-mappings.ts';
import { createKeepVmRunningHandler } from '#functions/api/keep-vm-running.ts';
import { createListAssignmentsHandler } from '#functions/api/list-assignments.ts';
import { createListClassesHandler } from '#functions/api/list-classes.ts';
import { createPutAssignmentHandler } from '#functions/api/put-assignment.ts';
import { createPutClassMemberHandler } from '#functions/api/put-class-member.ts';
import { createPutClassScheduleHandler } from '#functions/api/put-class-schedule.ts';
import { createPutClassVmHandler } from '#functions/api/put-class-vm.ts';
import { createUpdateClassHandler } from '#functions/api/update-class.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import type { ApiDependencies } from '#shared/api/dependencies.ts';
import type { ClassScheduleStore } from '#shared/schedules/class-schedule.ts';

/** The ownership and class handlers by route id, built on test dependencies. */
export function ownershipHandlers(deps: () => ApiDependencies): Record<string, GatewayLambdaHandler> {
  return {
    listAssignments: createListAssignmentsHandler(deps),
    putAssignment: createPutAssignmentHandler(deps),
    deleteAssignment: createDeleteAssignmentHandler(deps),
    importMappings: createImportMappingsHandler(deps),
    listClasses: createListClassesHandler(deps),
    createClass: createCreateClassHandler(deps),
    getClass: createGetClassHandler(deps),
    updateClass: createUpdateClassHandler(deps),
    deleteClass: createDeleteClassHandler(deps),
    putClassMember: createPutClassMemberHandler(deps),
    deleteClassMember: createDeleteClassMemberHandler(deps),
    putClassVm: createPutClassVmHandler(deps),
    deleteClassVm: createDeleteClassVmHandler(deps),
  };
}

/** The class-schedule and keep-running handlers on the given dependencies and schedule store. */
export function scheduleHandlers(
  deps: () => ApiDependencies,
  schedules: () => ClassScheduleStore,
): Record<string, GatewayLambdaHandler> {
  return {
    getClassSchedule: createGetClassScheduleHandler(deps, schedules),
    putClassSchedule: createPutClassScheduleHandler(deps, schedules),
    deleteClassSchedule: createDeleteClassScheduleHandler(deps, schedules),
    keepVmRunning: createKeepVmRunningHandler(deps),
  };
}

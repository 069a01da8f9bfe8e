import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager } from '#shared/api/ownership-views.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { ClassScheduleStore } from '#shared/schedules/class-schedule.ts';
import { defaultScheduleStore } from '#shared/schedules/wiring.ts';

/** Builds the DELETE /api/classes/{classId}/schedule handler. */
export function createDeleteClassScheduleHandler(
  dependencies: () => ApiDependencies,
  schedules: () => ClassScheduleStore,
): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.deleteClassSchedule,
    audit: () => deps().audit,
    handler: async ({ path, caller }) => {
      requireClassManager(caller, await deps().repositories.ownership.getClass(path.classId));
      await schedules().deleteSchedule(path.classId);
      return { status: 204 };
    },
  });
}

/** DELETE /api/classes/{classId}/schedule — admins and the class's teachers. */
export const handler = createDeleteClassScheduleHandler(defaultApiDependencies, defaultScheduleStore);

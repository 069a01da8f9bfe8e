import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager } from '#shared/api/ownership-views.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { ClassScheduleStore } from '#shared/schedules/class-schedule.ts';
import { toScheduleResponse } from '#shared/schedules/schedule-views.ts';
import { defaultScheduleStore } from '#shared/schedules/wiring.ts';

/** Builds the GET /api/classes/{classId}/schedule handler. */
export function createGetClassScheduleHandler(
  dependencies: () => ApiDependencies,
  schedules: () => ClassScheduleStore,
): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getClassSchedule,
    handler: async ({ path, caller }) => {
      requireClassManager(caller, await deps().repositories.ownership.getClass(path.classId));
      const schedule = await schedules().getSchedule(path.classId);
      return { status: 200, body: toScheduleResponse(path.classId, schedule) };
    },
  });
}

/** GET /api/classes/{classId}/schedule — admins and the class's teachers. */
export const handler = createGetClassScheduleHandler(defaultApiDependencies, defaultScheduleStore);

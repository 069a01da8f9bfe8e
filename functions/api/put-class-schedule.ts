import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager } from '#shared/api/ownership-views.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { ClassScheduleStore } from '#shared/schedules/class-schedule.ts';
import { toScheduleResponse } from '#shared/schedules/schedule-views.ts';
import { defaultScheduleStore } from '#shared/schedules/wiring.ts';

/** Builds the PUT /api/classes/{classId}/schedule handler. */
export function createPutClassScheduleHandler(
  dependencies: () => ApiDependencies,
  schedules: () => ClassScheduleStore,
): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.putClassSchedule,
    audit: () => deps().audit,
    handler: async ({ path, body, caller }) => {
      const { repositories, now } = deps();
      requireClassManager(caller, await repositories.ownership.getClass(path.classId));
      const schedule = await schedules().putSchedule({
        class_id: path.classId,
        ...body,
        updated_by: caller.username,
        updated_at: now(),
      });
      return { status: 200, body: toScheduleResponse(path.classId, schedule) };
    },
  });
}

/** PUT /api/classes/{classId}/schedule — admins and the class's teachers. */
export const handler = createPutClassScheduleHandler(defaultApiDependencies, defaultScheduleStore);

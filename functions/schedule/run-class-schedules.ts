/**
 * The one scheduled function of the class schedules (EventBridge Scheduler every 5 minutes; the
 * local runner on one machine): evaluates every class's schedule and acts through the bulk action
 * with the schedule as the actor; a failed action alerts the admins (`ALERT_TOPIC_ARN`).
 */
import { defaultActionWiring, structuredLogger } from '#shared/actions/wiring.ts';
import { alertPublisherFromEnv } from '#shared/alerts/wiring.ts';
import { defaultApiDependencies } from '#shared/api/dependencies.ts';
import { withInvocationLogger } from '#shared/observability/powertools.ts';
import { historyCpuPort } from '#shared/schedules/history-cpu.ts';
import {
  type ClassRunSummary,
  runClassSchedules,
  type ScheduleRunDeps,
} from '#shared/schedules/run-schedules.ts';
import { scheduleSettingsFromEnv } from '#shared/schedules/settings.ts';
import { defaultScheduleStore } from '#shared/schedules/wiring.ts';

/** The summary the function returns (and logs). */
export interface RunClassSchedulesOutput {
  readonly classes: readonly ClassRunSummary[];
}

/** Builds the handler on a dependency factory (tests and the local stack inject their own). */
export function createRunClassSchedulesHandler(
  deps: () => Promise<ScheduleRunDeps>,
): () => Promise<RunClassSchedulesOutput> {
  return async () => {
    const classes = await runClassSchedules(await deps());
    structuredLogger.info('Class schedules evaluated', { classes });
    return { classes };
  };
}

let wired: Promise<ScheduleRunDeps> | undefined;

/** The process's dependencies from the environment. */
function defaultScheduleDeps(): Promise<ScheduleRunDeps> {
  wired ??= (async () => {
    const api = defaultApiDependencies();
    const wiring = await defaultActionWiring();
    return {
      schedules: defaultScheduleStore(),
      ownership: api.repositories.ownership,
      inventory: api.repositories.inventory,
      bulk: {
        actionService: (waitMs) => wiring.actionService(waitMs),
        workerLimit: (clusterId) => wiring.workerLimit(clusterId),
        logger: structuredLogger,
      },
      cpuHistory: historyCpuPort(api.repositories.history),
      audit: api.audit,
      publishAlert: alertPublisherFromEnv(process.env, structuredLogger),
      now: api.now,
      settings: scheduleSettingsFromEnv(process.env),
    };
  })();
  wired.catch(() => {
    wired = undefined;
  });
  return wired;
}

const run = createRunClassSchedulesHandler(defaultScheduleDeps);

export const handler = withInvocationLogger(async (_event: unknown) => run());

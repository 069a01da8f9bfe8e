/**
 * POST /api/vm/{vmid}/{action}: a power action (owner, teacher of its class, admin). Pending at
 * once, one Proxmox call, 200 with the confirmed status or 202 while the task still runs.
 */
import {
  ACTION_WAIT_ENV,
  type ActionResult,
  type ActionService,
  DEFAULT_ACTION_WAIT_MS,
  MAX_ACTION_WAIT_MS,
} from '#shared/actions/action-service.ts';
import { ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import { UnknownClusterError } from '#shared/actions/gateway-provider.ts';
import { defaultActionWiring } from '#shared/actions/wiring.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { UpstreamUnavailableError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, type HttpResult, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { VmActionDoneResponse, VmActionPendingResponse } from '#shared/http/schemas/actions.ts';
import { logger } from '#shared/observability/powertools.ts';

export { ACTION_WAIT_ENV };

/**
 * The answer of an action result: 200 confirmed or unchanged, 202 pending. Both carry `ok: true`
 * (the original portal's pages check `resp.ok && data.ok`).
 */
export function toActionResponse(result: ActionResult): HttpResult {
  if (result.outcome === 'confirmed' || result.outcome === 'unchanged') {
    const body: VmActionDoneResponse = {
      ok: true,
      ...result.key,
      action: result.action,
      status: result.status,
      pending_action: null,
      upid: result.outcome === 'confirmed' ? result.upid : null,
      unchanged: result.outcome === 'unchanged',
    };
    return { status: 200, body };
  }
  const body: VmActionPendingResponse = {
    ok: true,
    ...result.key,
    action: result.action,
    pending_action: result.action,
    upid: result.upid,
  };
  return { status: 202, body };
}

/** Builds the handler on a service factory (tests inject their own, and may give an audit port). */
export function createVmActionHandler(
  service: () => Promise<ActionService>,
  audit?: () => AuditPort | undefined,
): HttpLambdaHandler {
  return httpHandler({
    route: routes.vmAction,
    ...(audit === undefined ? {} : { audit }),
    handler: async ({ path, query, caller }) => {
      try {
        const result = await (await service()).perform({
          caller,
          vmid: path.vmid,
          action: path.action,
          clusterId: query.cluster,
        });
        return toActionResponse(result);
      } catch (error) {
        if (error instanceof ProxmoxUnavailableError || error instanceof UnknownClusterError) {
          logger.warn('Proxmox unavailable for an action', { error });
          throw new UpstreamUnavailableError(
            'Proxmox is unavailable; the action was not run',
            `Proxmox is unavailable: ${error.message}`,
            error,
          );
        }
        throw error;
      }
    },
  });
}

/**
 * The action wait from the environment, in ms. Capped at {@link MAX_ACTION_WAIT_MS} so that an
 * action always answers well inside the HTTP API's 30 s integration timeout.
 */
export function waitMsFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[ACTION_WAIT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_ACTION_WAIT_MS;
  const seconds = Number(raw);
  const maxSeconds = MAX_ACTION_WAIT_MS / 1000;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > maxSeconds) {
    throw new RangeError(
      `${ACTION_WAIT_ENV} must be a number of seconds from 0 to ${maxSeconds}, got "${raw}"`,
    );
  }
  return Math.round(seconds * 1000);
}

let service: Promise<ActionService> | undefined;

/**
 * The process's action service: the same wiring as the bulk route and the class schedules
 * (`shared/actions/wiring.ts`: clusters, one node:https Proxmox client per cluster, the API's
 * repositories) with this route's confirmation wait, made on first use.
 */
function defaultActionService(): Promise<ActionService> {
  service ??= defaultActionWiring().then((wiring) => wiring.actionService(waitMsFromEnv(process.env)));
  // A failed wiring (e.g. a bad setting) is retried by the next request rather than cached.
  service.catch(() => {
    service = undefined;
  });
  return service;
}

export const handler = createVmActionHandler(defaultActionService);

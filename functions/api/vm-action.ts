/**
 * POST /api/vm/{vmid}/{action}: a power action (owner, teacher of its class, admin). Pending at
 * once, one Proxmox call, 200 with the confirmed status or 202 while the task still runs.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ACTION_WAIT_ENV,
  type ActionResult,
  type ActionService,
  createActionService,
  DEFAULT_ACTION_WAIT_MS,
  MAX_ACTION_WAIT_MS,
} from '#shared/actions/action-service.ts';
import { ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import { createGatewayProvider, UnknownClusterError } from '#shared/actions/gateway-provider.ts';
import { defaultApiDependencies } from '#shared/api/dependencies.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { secretsManagerFetcher } from '#shared/config/aws-secret.ts';
import { clustersFromEnv } from '#shared/config/clusters-env.ts';
import { UpstreamUnavailableError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, type HttpResult, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { VmActionDoneResponse, VmActionPendingResponse } from '#shared/http/schemas/actions.ts';
import { logger } from '#shared/observability/powertools.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';

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

/** Powertools' logger as the structured logger the client and the service expect. */
const structuredLogger = {
  debug: (message: string, attributes: Record<string, unknown> = {}) => logger.debug(message, attributes),
  info: (message: string, attributes: Record<string, unknown> = {}) => logger.info(message, attributes),
  warn: (message: string, attributes: Record<string, unknown> = {}) => logger.warn(message, attributes),
  error: (message: string, attributes: Record<string, unknown> = {}) => logger.error(message, attributes),
};

let wired: Promise<ActionService> | undefined;

/** The process's action service, wired from the environment on first use. */
function defaultActionService(): Promise<ActionService> {
  wired ??= (async () => {
    const api = defaultApiDependencies();
    const clusters = await clustersFromEnv(process.env);
    let secrets: SecretsManagerClient | undefined;
    const connector = createProxmoxConnector({
      sources: {
        env: process.env,
        awsSecret: (id) => {
          secrets ??= new SecretsManagerClient({});
          return secretsManagerFetcher(secrets)(id);
        },
      },
      clientDeps: { logger: structuredLogger },
      // node:https, not undici: a few calls per request, and a bundle without undici's ~700 KB.
      createClient: createHttpsProxmoxClient,
    });
    const provider = createGatewayProvider(clusters, connector);
    return createActionService({
      inventory: api.repositories.inventory,
      ownership: api.repositories.ownership,
      clusterIds: async () => provider.clusterIds(),
      gatewayFor: (clusterId) => provider.gatewayFor(clusterId),
      now: api.now,
      logger: structuredLogger,
      waitMs: waitMsFromEnv(process.env),
    });
  })();
  // A failed wiring (e.g. a bad setting) is retried by the next request rather than cached.
  wired.catch(() => {
    wired = undefined;
  });
  return wired;
}

export const handler = createVmActionHandler(defaultActionService);

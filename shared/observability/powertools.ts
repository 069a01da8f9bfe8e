import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

/**
 * The Powertools logger and metrics, defined once per process and shared by every handler and
 * adapter. The tracer lives in tracer.ts: only the sync functions load it (see there).
 * The service name comes from `POWERTOOLS_SERVICE_NAME` (set per function group by the CDK app);
 * outside Lambda the tracer disables itself and `POWERTOOLS_METRICS_DISABLED`/`POWERTOOLS_DEV`
 * silence the EMF output.
 *
 * Logging context is per invocation: {@link withInvocationLogger} runs each invocation with its own
 * child logger (function name, request id, and keys appended during it, e.g. the username) held in
 * an AsyncLocalStorage, and {@link logger} writes through the current invocation's child. So
 * overlapping invocations in one process (the local gateway, or concurrent async work in Lambda)
 * never log another invocation's `function_name` or `username`.
 */

/** CloudWatch namespace of the project's custom metrics. */
export const METRICS_NAMESPACE = 'PveInventory';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'pve-inventory';

/** The process's root logger: used outside any invocation (start-up, the local stack). */
const rootLogger = new Logger({ serviceName });

const invocationLoggers = new AsyncLocalStorage<Logger>();

/** The logger of the current invocation, or the root logger outside one. */
export function currentLogger(): Logger {
  return invocationLoggers.getStore() ?? rootLogger;
}

/** The logging calls the code makes (each goes to the current invocation's logger). */
export type InvocationLogger = Pick<
  Logger,
  'debug' | 'info' | 'warn' | 'error' | 'critical' | 'appendKeys' | 'removeKeys'
>;

/**
 * Structured JSON logger. Every call goes to {@link currentLogger}: keys appended during an
 * invocation stay with that invocation.
 */
export const logger: InvocationLogger = {
  debug: (input, ...extra) => currentLogger().debug(input, ...extra),
  info: (input, ...extra) => currentLogger().info(input, ...extra),
  warn: (input, ...extra) => currentLogger().warn(input, ...extra),
  error: (input, ...extra) => currentLogger().error(input, ...extra),
  critical: (input, ...extra) => currentLogger().critical(input, ...extra),
  appendKeys: (attributes) => currentLogger().appendKeys(attributes),
  removeKeys: (keys) => currentLogger().removeKeys(keys),
};

/**
 * Wraps a Lambda-style handler so that each invocation logs through its own child logger carrying
 * the invocation's Lambda context (`function_name`, `function_request_id`, …).
 */
export function withInvocationLogger<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  return function invokeWithOwnLogger(event, context) {
    const child = rootLogger.createChild();
    if (context !== undefined && context !== null) child.addContext(context);
    return invocationLoggers.run(child, () => handler(event, context));
  };
}

/** EMF metrics (written to stdout: no PutMetricData call, no VPC endpoint needed). */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The Powertools logger and metrics, defined once per process and shared by every handler and
 * adapter. The tracer lives in tracer.ts: only the sync functions load it (see there).
 * The service name comes from `POWERTOOLS_SERVICE_NAME` (set per function group by the CDK app);
 * outside Lambda the tracer disables itself and `POWERTOOLS_METRICS_DISABLED`/`POWERTOOLS_DEV`
 * silence the EMF output.
 */

/** CloudWatch namespace of the project's custom metrics. */
export const METRICS_NAMESPACE = 'PveInventory';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'pve-inventory';

/** Structured JSON logger. */
export const logger = new Logger({ serviceName });

/** EMF metrics (written to stdout: no PutMetricData call, no VPC endpoint needed). */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });

import { SNSClient } from '@aws-sdk/client-sns';
import { auditTrailFromEnv } from '#shared/audit/wiring.ts';
import { type AlertLogger, type AlertSink, createAlertPublisher, type PublishAlert } from './alerts.ts';
import { auditAlertSink, snsAlertSink } from './sinks.ts';

/**
 * Wiring of the alert port at the adapter edge: the SNS topic named by `ALERT_TOPIC_ARN` (set by
 * the CDK app on the functions that alert), the audit trail when `AUDIT_TABLE` is set (the local
 * stack), and a sink the local stack binds (its status line).
 */

export const ALERT_ENV = { topicArn: 'ALERT_TOPIC_ARN' } as const;

let localSink: AlertSink | undefined;

/** Binds a sink that gets every alert of this process (the local stack's status line). Returns the unbinding function. */
export function bindLocalAlertSink(sink: AlertSink): () => void {
  localSink = sink;
  return () => {
    if (localSink === sink) localSink = undefined;
  };
}

let snsClient: SNSClient | undefined;

/** The sinks the environment configures (possibly none: alerts are then only logged). */
export function alertSinksFromEnv(env: Readonly<Record<string, string | undefined>>): AlertSink[] {
  const sinks: AlertSink[] = [];
  const topicArn = env[ALERT_ENV.topicArn]?.trim();
  if (topicArn) {
    snsClient ??= new SNSClient({});
    sinks.push(snsAlertSink(snsClient, topicArn));
  }
  const audit = auditTrailFromEnv(env);
  if (audit !== undefined) sinks.push(auditAlertSink(audit));
  // Read at delivery, so a sink bound after this publisher was built still gets the alerts.
  sinks.push({
    name: 'local',
    deliver: async (alert) => {
      await localSink?.deliver(alert);
    },
  });
  return sinks;
}

/**
 * `publishAlert(kind, details)` on the environment's sinks; every alert is also logged (warn), so
 * it is never lost when no sink is configured.
 */
export function alertPublisherFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  logger: AlertLogger & { warn(message: string, attributes: Record<string, unknown>): void },
): PublishAlert {
  const logSink: AlertSink = {
    name: 'log',
    deliver: async (alert) =>
      logger.warn(`alert: ${alert.subject}`, {
        alert_id: alert.id,
        kind: alert.kind,
        details: alert.details,
      }),
  };
  return createAlertPublisher({ sinks: [logSink, ...alertSinksFromEnv(env)], logger });
}

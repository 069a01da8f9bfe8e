import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AuditTarget } from '#shared/audit/audit-entry.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import type { Alert, AlertSink } from './alerts.ts';

/**
 * SNS: one Publish per alert to the admin alert topic. The message is per protocol: e-mail
 * subscribers read the words, HTTPS webhooks receive the alert as JSON.
 */
export function snsAlertSink(client: Pick<SNSClient, 'send'>, topicArn: string): AlertSink {
  return {
    name: 'sns',
    async deliver(alert: Alert) {
      const json = JSON.stringify({
        id: alert.id,
        kind: alert.kind,
        at: new Date(alert.at).toISOString(),
        subject: alert.subject,
        message: alert.message,
        details: alert.details,
      });
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: alert.subject,
          MessageStructure: 'json',
          Message: JSON.stringify({ default: alert.message, email: alert.message, https: json }),
          MessageAttributes: { kind: { DataType: 'String', StringValue: alert.kind } },
        }),
      );
    },
  };
}

/** The audit trail: each alert as an entry of the `system` actor (`alert.<kind>`). */
export function auditAlertSink(port: AuditPort): AlertSink {
  return {
    name: 'audit',
    async deliver(alert: Alert) {
      const d = alert.details;
      const target: AuditTarget = { operation: alert.kind };
      if (typeof d.cluster_id === 'string') target.cluster_id = d.cluster_id;
      if (typeof d.vmid === 'number') target.vmid = d.vmid;
      if (typeof d.class_id === 'string') target.class_id = d.class_id;
      await port.recordAudit({
        at: alert.at,
        actor: 'system',
        action: `alert.${alert.kind}`,
        target,
        result: alert.kind === 'cluster_healthy' ? 'success' : 'failed',
        status: 0,
        error_code: null,
        request_id: alert.id,
      });
    },
  };
}

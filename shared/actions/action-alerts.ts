import type { AlertDetails, AlertLogger, PublishAlert } from '#shared/alerts/alerts.ts';
import type { BulkItemResult } from './bulk-action.ts';

/**
 * When a bulk run (a bulk request, or one action of a class schedule) is an admin's problem: its
 * lines whose action failed on the infrastructure's side — Proxmox unreachable or an unexpected
 * error (`failed`), or Proxmox answering the power call with an error (`action_failed`). Lines
 * refused for the caller's reasons (not visible, template, another action pending, recently
 * started) are the caller's to read in the answer and the audit trail, not an alert.
 */
export function isAlertableLine(line: BulkItemResult): boolean {
  return line.outcome === 'failed' || line.error_code === 'action_failed';
}

/**
 * The one `action_failed` alert of a run, or null when no line is alertable. A single failed VM is
 * named (cluster and VMID); several are counted. The error is the first failed line's reason.
 */
export function actionFailedAlert(
  lines: readonly BulkItemResult[],
  context: {
    source: AlertDetails<'action_failed'>['source'];
    action: string;
    reference: string;
    classId?: string | undefined;
  },
): AlertDetails<'action_failed'> | null {
  const failed = lines.filter(isAlertableLine);
  const first = failed[0];
  if (first === undefined) return null;
  const error = first.reason ?? first.error_code ?? 'unknown error';
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
  return {
    source: context.source,
    action: context.action,
    ...(failed.length === 1 ? { cluster_id: first.cluster_id, vmid: first.vmid } : {}),
    ...(context.classId === undefined ? {} : { class_id: context.classId }),
    reference: context.reference,
    failed: failed.length,
    error: `${error}${more}`,
  };
}

/**
 * Publishes an `action_failed` alert without ever failing the caller: the sinks are isolated by
 * the publisher, and anything else (invalid details, a throwing logger sink) is logged here.
 */
export async function publishActionFailedSafely(
  publishAlert: PublishAlert | undefined,
  details: AlertDetails<'action_failed'> | null,
  logger: AlertLogger | undefined,
): Promise<void> {
  if (publishAlert === undefined || details === null) return;
  try {
    await publishAlert('action_failed', details);
  } catch (error) {
    logger?.error('could not publish an alert', {
      kind: 'action_failed',
      reference: details.reference,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

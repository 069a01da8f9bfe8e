import { randomUUID } from 'node:crypto';
import * as z from 'zod';

/**
 * Admin alerts, pure core: what can be alerted, the details each kind carries (validated at the
 * port), and the words an admin reads. Delivery is an adapter's ({@link AlertSink}): SNS (e-mail and
 * HTTPS webhook subscriptions) in AWS; the status line and the audit trail locally.
 */

export const AlertKindSchema = z.enum(['cluster_unsynced', 'cluster_healthy', 'action_failed']);
export type AlertKind = z.infer<typeof AlertKindSchema>;

const ClusterAlertDetailsSchema = z
  .object({
    cluster_id: z.string().min(1),
    cluster_name: z.string().min(1).optional(),
    /** epoch ms of the last successful sync, null when it never synced */
    last_success_at: z.number().int().nonnegative().nullable(),
    /** the cluster's last sync error, if any */
    last_error: z.string().nullable().default(null),
    /** the staleness cutoff the alert was judged against (ms) */
    cutoff_ms: z.number().int().positive(),
  })
  .strict();

/** Details of a scheduled or bulk action that failed (the labops part publishes these). */
const ActionFailedDetailsSchema = z
  .object({
    /** what ran it: a class schedule, the idle rule, or a bulk request */
    source: z.enum(['schedule', 'idle_rule', 'bulk']),
    /** the power action, e.g. `shutdown` */
    action: z.string().min(1),
    cluster_id: z.string().min(1).optional(),
    vmid: z.number().int().positive().optional(),
    class_id: z.string().min(1).optional(),
    /** the schedule's or bulk request's id */
    reference: z.string().min(1).optional(),
    /** how many VMs failed, when the alert sums up a run */
    failed: z.number().int().positive().optional(),
    error: z.string().min(1),
  })
  .strict();

export const AlertDetailsSchemas = {
  cluster_unsynced: ClusterAlertDetailsSchema,
  cluster_healthy: ClusterAlertDetailsSchema,
  action_failed: ActionFailedDetailsSchema,
} as const;

/** The details each kind of alert carries. */
export type AlertDetails<K extends AlertKind = AlertKind> = z.input<(typeof AlertDetailsSchemas)[K]>;

/** One alert as delivered. */
export interface Alert {
  id: string;
  kind: AlertKind;
  /** epoch ms */
  at: number;
  /** one line (an e-mail subject: at most 100 characters) */
  subject: string;
  /** a few lines for a person */
  message: string;
  details: Record<string, unknown>;
}

/** Where alerts go (SNS, the audit trail, the local status line). */
export interface AlertSink {
  readonly name: string;
  deliver(alert: Alert): Promise<void>;
}

/** The details of an alert were not what its kind needs (a programming error of the caller). */
export class InvalidAlertError extends Error {
  override readonly name = 'InvalidAlertError';
}

const time = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

/** Subject and message of an alert, from its validated details. Pure. */
export function describeAlert(
  kind: AlertKind,
  details: Record<string, unknown>,
): { subject: string; message: string } {
  if (kind === 'action_failed') {
    const d = ActionFailedDetailsSchema.parse(details);
    const target =
      d.vmid !== undefined
        ? `VM ${d.cluster_id ?? '?'}/${d.vmid}`
        : d.class_id !== undefined
          ? `class ${d.class_id}`
          : 'VMs';
    const count = d.failed !== undefined ? ` (${d.failed} failed)` : '';
    const by = { schedule: 'Scheduled', idle_rule: 'Idle-rule', bulk: 'Bulk' }[d.source];
    return {
      subject: `${by} ${d.action} failed: ${target}${count}`.slice(0, 100),
      message: `${by} ${d.action} of ${target} failed${count}${d.reference ? ` (${d.reference})` : ''}: ${d.error}`,
    };
  }
  const d = ClusterAlertDetailsSchema.parse(details);
  const name = d.cluster_name ?? d.cluster_id;
  const cutoff =
    d.cutoff_ms < 120_000 ? `${Math.round(d.cutoff_ms / 1000)} s` : `${Math.round(d.cutoff_ms / 60_000)} min`;
  if (kind === 'cluster_unsynced') {
    return {
      subject: `Cluster ${name} not synced for over ${cutoff}`.slice(0, 100),
      message: `Cluster ${name} (${d.cluster_id}) has not synced successfully for longer than ${cutoff} (last success: ${time(d.last_success_at)}).${d.last_error ? ` Last error: ${d.last_error}` : ''}`,
    };
  }
  return {
    subject: `Cluster ${name} is syncing again`.slice(0, 100),
    message: `Cluster ${name} (${d.cluster_id}) synced successfully again at ${time(d.last_success_at)}.`,
  };
}

/** Logs a sink's failure (the others still get the alert). */
export interface AlertLogger {
  error(message: string, attributes: Record<string, unknown>): void;
}

/** The port other code calls: `publishAlert(kind, details)`; resolves to the alert as delivered. */
export type PublishAlert = <K extends AlertKind>(kind: K, details: AlertDetails<K>) => Promise<Alert>;

/**
 * Builds `publishAlert` on sinks: validates the details (an {@link InvalidAlertError} names the
 * field), describes the alert once, and hands it to every sink; a sink that fails is logged and
 * does not stop the others, nor the caller.
 */
export function createAlertPublisher(deps: {
  sinks: readonly AlertSink[];
  logger: AlertLogger;
  now?: () => number;
  newId?: () => string;
}): PublishAlert {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  return async (kind, details) => {
    const parsed = AlertDetailsSchemas[kind].safeParse(details);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidAlertError(
        `${kind} alert: ${issue?.path.join('.') || 'details'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const clean: Record<string, unknown> = { ...parsed.data };
    const alert: Alert = { id: newId(), kind, at: now(), ...describeAlert(kind, clean), details: clean };
    await Promise.all(
      deps.sinks.map((sink) =>
        sink.deliver(alert).catch((error: unknown) => {
          deps.logger.error('could not deliver an alert', {
            sink: sink.name,
            kind,
            alert_id: alert.id,
            error: error instanceof Error ? error.message : String(error),
          });
        }),
      ),
    );
    return alert;
  };
}

import * as z from 'zod';

/**
 * The audit trail's record, pure: who did what to which target, when, with which result, under
 * which request id. Built by the HTTP middleware for every state-changing route, and by any other
 * code through the audit port (`recordAudit`).
 */

/** Environment variables of the audit trail (set by the ApiStack and the local stack). */
export const AUDIT_ENV = { table: 'AUDIT_TABLE', retentionDays: 'AUDIT_RETENTION_DAYS' } as const;

/** Default retention of audit entries: 400 days (then DynamoDB's TTL removes them). */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;

/** How a request ended: 2xx `success`, 4xx `refused`, 5xx `failed`. */
export const AuditResultSchema = z.enum(['success', 'refused', 'failed']);
export type AuditResult = z.infer<typeof AuditResultSchema>;

/** What a request targeted (only what it named). */
export const AuditTargetSchema = z
  .object({
    cluster_id: z.string().optional(),
    vmid: z.number().int().optional(),
    class_id: z.string().optional(),
    /** the user the change is about (a member, an assignment's user) */
    username: z.string().optional(),
    /** e.g. the power action, or `full`/`quick` for a sync trigger */
    operation: z.string().optional(),
  })
  .strict();
export type AuditTarget = z.infer<typeof AuditTargetSchema>;

/** One audit entry. */
export const AuditEntrySchema = z.object({
  /** epoch ms */
  at: z.number().int().nonnegative(),
  /** the user who made the request (`system` for scheduled work) */
  actor: z.string().min(1),
  /** the route id or action name, e.g. `vmAction`, `putClassMember` */
  action: z.string().min(1),
  target: AuditTargetSchema,
  result: AuditResultSchema,
  /** HTTP status (or 0 outside HTTP) */
  status: z.number().int().nonnegative(),
  /** the error code of a refused or failed request */
  error_code: z.string().nullable().default(null),
  request_id: z.string().min(1),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
export type AuditEntryInput = z.input<typeof AuditEntrySchema>;

/** The result of an HTTP status. */
export function auditResultOf(status: number): AuditResult {
  if (status >= 500) return 'failed';
  if (status >= 400) return 'refused';
  return 'success';
}

/** The `cluster#vmid` key of a target naming both, else null. */
export function auditVmKey(target: AuditTarget): string | null {
  return target.cluster_id !== undefined && target.vmid !== undefined
    ? `${target.cluster_id}#${target.vmid}`
    : null;
}

/** Expiry (epoch seconds, the TTL attribute) of an entry kept `retentionDays`. */
export function auditExpiry(atMs: number, retentionDays: number): number {
  return Math.floor(atMs / 1000) + retentionDays * 86_400;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined;
const integer = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) ? n : undefined;
};

/**
 * The target of a request, from what it named: path parameters, then query, then body fields
 * (`cluster`/`cluster_id`, `vmid`, `classId`/`class_id`, `username`/`student`, `action`/`mode`),
 * and a response body's `cluster_id` when the request left the cluster to be resolved.
 */
export function auditTargetFromRequest(parts: {
  readonly path?: Readonly<Record<string, unknown>> | undefined;
  readonly query?: Readonly<Record<string, unknown>> | undefined;
  readonly body?: unknown;
  readonly response?: unknown;
}): AuditTarget {
  const sources = [parts.path, parts.query, parts.body, parts.response].filter(
    (source): source is Record<string, unknown> =>
      typeof source === 'object' && source !== null && !Array.isArray(source),
  );
  const pick = <T>(names: readonly string[], read: (value: unknown) => T | undefined): T | undefined => {
    for (const source of sources) {
      for (const name of names) {
        if (!Object.hasOwn(source, name)) continue;
        const value = read(source[name]);
        if (value !== undefined) return value;
      }
    }
    return undefined;
  };
  const target: AuditTarget = {};
  const cluster = pick(['cluster', 'cluster_id'], text);
  const vmid = pick(['vmid'], integer);
  const classId = pick(['classId', 'class_id'], text);
  const username = pick(['username', 'student'], text);
  const operation = pick(['action', 'mode'], text);
  if (cluster !== undefined) target.cluster_id = cluster;
  if (vmid !== undefined) target.vmid = vmid;
  if (classId !== undefined) target.class_id = classId;
  if (username !== undefined) target.username = username;
  if (operation !== undefined) target.operation = operation;
  return target;
}

import { AUDIT_ENV, DEFAULT_AUDIT_RETENTION_DAYS } from '#shared/audit/audit-entry.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { getDocumentClient } from '#shared/clients/dynamodb.ts';
import { DynamoDbAuditTrail } from '#shared/store/dynamodb/audit-repository.ts';

/**
 * The audit trail wired from the environment (the adapter edge): `AUDIT_TABLE` names the table,
 * `AUDIT_RETENTION_DAYS` (default 400) how long entries are kept.
 */

export { AUDIT_ENV } from '#shared/audit/audit-entry.ts';

/** `AUDIT_RETENTION_DAYS` is set but not a whole number of days from 1 to 3650. */
export class AuditSettingsError extends Error {
  override readonly name = 'AuditSettingsError';
}

/** The retention in days from the environment (default {@link DEFAULT_AUDIT_RETENTION_DAYS}). */
export function auditRetentionDaysFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[AUDIT_ENV.retentionDays];
  if (raw === undefined) return DEFAULT_AUDIT_RETENTION_DAYS;
  const days = Number(raw.trim());
  if (raw.trim() === '' || !Number.isInteger(days) || days < 1 || days > 3650) {
    throw new AuditSettingsError(
      `${AUDIT_ENV.retentionDays} must be a whole number of days from 1 to 3650, got ${JSON.stringify(raw)}`,
    );
  }
  return days;
}

/** The DynamoDB audit trail of the environment, or `undefined` when `AUDIT_TABLE` is not set. */
export function auditTrailFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): DynamoDbAuditTrail | undefined {
  const table = env[AUDIT_ENV.table];
  if (table === undefined || table === '') return undefined;
  return new DynamoDbAuditTrail(getDocumentClient(), table, {
    retentionDays: auditRetentionDaysFromEnv(env),
  });
}

let wired: { port: AuditPort | undefined } | undefined;

/** The process's audit port (created on first use), `undefined` when no audit table is configured. */
export function defaultAuditPort(): AuditPort | undefined {
  wired ??= { port: auditTrailFromEnv(process.env) };
  return wired.port;
}

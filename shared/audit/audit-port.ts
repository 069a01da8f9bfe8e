import type { AuditEntry, AuditEntryInput } from './audit-entry.ts';

/**
 * The audit port: the one way code records an audit entry (HTTP middleware for every
 * state-changing route; scheduled work later). Adapters: the DynamoDB audit trail.
 */
export interface AuditPort {
  /** Stores one entry; may throw (callers use {@link recordAuditSafely}). */
  recordAudit(entry: AuditEntryInput): Promise<void>;
}

/** Filters of an audit listing (all optional, combined with AND). */
export interface AuditFilter {
  readonly actor?: string | undefined;
  readonly vm?: { readonly cluster_id: string; readonly vmid: number } | undefined;
  readonly classId?: string | undefined;
  /** epoch ms, inclusive */
  readonly fromMs?: number | undefined;
  /** epoch ms, inclusive */
  readonly toMs?: number | undefined;
}

/** One page of entries, newest first. */
export interface AuditPage {
  readonly entries: AuditEntry[];
  readonly nextCursor: string | null;
}

/** Reading the audit trail (admins' route and CLI). */
export interface AuditReader {
  /** Entries matching `filter`, newest first; an unknown cursor throws `InvalidCursorError`. */
  listAudit(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditPage>;
}

/** The audit trail: recorded and read. */
export type AuditTrail = AuditPort & AuditReader;

/** Where {@link recordAuditSafely} reports a failed or slow recording. */
export interface AuditFailureLog {
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Longest time a request waits for its audit entry to be written. */
export const DEFAULT_AUDIT_TIMEOUT_MS = 1_500;

/** Recording of one entry timed out (the entry may still land). */
export class AuditTimeoutError extends Error {
  override readonly name = 'AuditTimeoutError';
}

/**
 * Records an entry without ever failing or blocking the action: waits at most `timeoutMs`, and logs
 * (never throws) when the recording fails or is slow. Resolves `true` when the entry was stored.
 */
export async function recordAuditSafely(
  port: AuditPort,
  entry: AuditEntryInput,
  log: AuditFailureLog,
  timeoutMs = DEFAULT_AUDIT_TIMEOUT_MS,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new AuditTimeoutError(`audit entry not stored within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
  });
  try {
    await Promise.race([Promise.resolve().then(() => port.recordAudit(entry)), timeout]);
    return true;
  } catch (error) {
    const {
      action,
      request_id: requestId,
      actor,
    } = entry as Pick<AuditEntry, 'action' | 'request_id' | 'actor'>;
    log.error('Audit entry not recorded', { error, audit: { action, request_id: requestId, actor } });
    return false;
  } finally {
    clearTimeout(timer);
  }
}

import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import type { SyncRulesSettings } from '#shared/api/sync-stats.ts';
import type { AuditTrail } from '#shared/audit/audit-port.ts';
import { auditTrailFromEnv } from '#shared/audit/wiring.ts';
import type { UsernameNormalizationOptions } from '#shared/auth/usernames.ts';
import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';

/**
 * The API handlers' dependencies, wired once per process from the environment (table names,
 * DynamoDB client, settings). This is the adapter edge: the rules in shared/api stay pure, and
 * tests build handlers with their own dependencies through each handler's `create…Handler`.
 */

/** What every API handler may use. */
export interface ApiDependencies {
  readonly repositories: Repositories;
  readonly settings: SyncRulesSettings;
  /** how usernames are normalized (the same rule as for JWT claims) */
  readonly usernames: UsernameNormalizationOptions;
  /** epoch ms */
  readonly now: () => number;
  /** The audit trail: where state-changing requests are recorded, read by admins (absent: none). */
  readonly audit?: AuditTrail | undefined;
}

let wired: ApiDependencies | undefined;

/**
 * The process's dependencies, created on first use (not at import, so that importing a handler
 * module never fails for want of an environment variable).
 */
export function defaultApiDependencies(): ApiDependencies {
  wired ??= {
    repositories: createDynamoDbRepositories(getDocumentClient(), tableNamesFromEnv(process.env)),
    settings: apiSettingsFromEnv(process.env),
    usernames: identityOptionsFromEnv(process.env),
    now: Date.now,
    audit: auditTrailFromEnv(process.env),
  };
  return wired;
}

/** Calls a dependency factory once, on first use, and keeps its result. */
export function lazyDependencies<T>(factory: () => T): () => T {
  let resolved: { value: T } | undefined;
  return () => {
    resolved ??= { value: factory() };
    return resolved.value;
  };
}

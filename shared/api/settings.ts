import * as z from 'zod';
import type { SyncRulesSettings } from '#shared/api/sync-stats.ts';
import { DEFAULT_STALE_AFTER_MS } from '#shared/domain/staleness.ts';

/**
 * Settings of the API handlers, parsed from an environment object (the entry points pass
 * `process.env`; nothing here reads it). Every one has a documented default; a set but invalid
 * value fails fast naming the variable.
 */

/** Environment variables of the API settings (set by the ApiStack). */
export const API_SETTINGS_ENV = {
  staleAfterSeconds: 'STALE_AFTER_SECONDS',
  quickSyncSeconds: 'QUICK_SYNC_SECONDS',
  healthMaxSyncAgeSeconds: 'HEALTH_MAX_SYNC_AGE_SECONDS',
  healthMaxConsecutiveErrors: 'HEALTH_MAX_CONSECUTIVE_ERRORS',
  mappingsDefaultCluster: 'MAPPINGS_DEFAULT_CLUSTER',
} as const;

/** Default health threshold of a cluster's last success: 10 minutes (the stale-cluster alarm's). */
export const DEFAULT_HEALTH_MAX_SYNC_AGE_SECONDS = 600;
/** Default health threshold of consecutive errors (the sync stack's alarm threshold). */
export const DEFAULT_HEALTH_MAX_CONSECUTIVE_ERRORS = 5;
/** Default quick-sync interval (the deployment default). */
export const DEFAULT_QUICK_SYNC_SECONDS = 30;

/** A setting in the environment is present but invalid. */
export class ApiSettingsError extends Error {
  override readonly name = 'ApiSettingsError';
}

const positiveInt = z.coerce.number().int().positive();

/** Parses the API settings; unset variables take their defaults. */
export function apiSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): SyncRulesSettings {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined) return fallback;
    const parsed = positiveInt.safeParse(raw.trim());
    if (!parsed.success || raw.trim() === '') {
      throw new ApiSettingsError(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
    }
    return parsed.data;
  };
  return {
    staleAfterMs: read(API_SETTINGS_ENV.staleAfterSeconds, DEFAULT_STALE_AFTER_MS / 1000) * 1000,
    quickSyncIntervalMs: read(API_SETTINGS_ENV.quickSyncSeconds, DEFAULT_QUICK_SYNC_SECONDS) * 1000,
    healthMaxSyncAgeMs:
      read(API_SETTINGS_ENV.healthMaxSyncAgeSeconds, DEFAULT_HEALTH_MAX_SYNC_AGE_SECONDS) * 1000,
    healthMaxConsecutiveErrors: read(
      API_SETTINGS_ENV.healthMaxConsecutiveErrors,
      DEFAULT_HEALTH_MAX_CONSECUTIVE_ERRORS,
    ),
  };
}

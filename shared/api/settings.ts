import * as z from 'zod';
import type { SyncRulesSettings } from '#shared/api/sync-stats.ts';
import {
  CADENCE_ENV,
  CadenceSettingError,
  cadenceFromEnv,
  type SyncCadence,
} from '#shared/config/cadence.ts';

/**
 * Settings of the API handlers, parsed from an environment object (the entry points pass
 * `process.env`; nothing here reads it). Every one has a documented default; a set but invalid
 * value fails fast naming the variable.
 */

/** Environment variables of the API settings (set by the ApiStack). */
export const API_SETTINGS_ENV = {
  staleAfterSeconds: CADENCE_ENV.staleAfterSeconds,
  quickSyncSeconds: CADENCE_ENV.quickSyncSeconds,
  healthMaxSyncAgeSeconds: 'HEALTH_MAX_SYNC_AGE_SECONDS',
  healthMaxConsecutiveErrors: 'HEALTH_MAX_CONSECUTIVE_ERRORS',
  mappingsDefaultCluster: 'MAPPINGS_DEFAULT_CLUSTER',
} as const;

/** Default health threshold of a cluster's last success: 10 minutes (the stale-cluster alarm's). */
export const DEFAULT_HEALTH_MAX_SYNC_AGE_SECONDS = 600;
/** Default health threshold of consecutive errors (the sync stack's alarm threshold). */
export const DEFAULT_HEALTH_MAX_CONSECUTIVE_ERRORS = 5;

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
  let cadence: SyncCadence;
  try {
    // The same parser as the sync's: the cutoff and the quick interval mean the same everywhere.
    cadence = cadenceFromEnv(env);
  } catch (error) {
    if (error instanceof CadenceSettingError) throw new ApiSettingsError(error.message, { cause: error });
    throw error;
  }
  return {
    staleAfterMs: cadence.staleAfterMs,
    quickSyncIntervalMs: cadence.quickIntervalMs,
    healthMaxSyncAgeMs:
      read(API_SETTINGS_ENV.healthMaxSyncAgeSeconds, DEFAULT_HEALTH_MAX_SYNC_AGE_SECONDS) * 1000,
    healthMaxConsecutiveErrors: read(
      API_SETTINGS_ENV.healthMaxConsecutiveErrors,
      DEFAULT_HEALTH_MAX_CONSECUTIVE_ERRORS,
    ),
  };
}

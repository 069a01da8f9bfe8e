import * as z from 'zod';
import { DEFAULT_STALE_AFTER_MS } from '#shared/domain/staleness.ts';

/**
 * The sync cadence: how often the full and quick syncs run and after how long an unconfirmed VM is
 * stale. One parser for every component that depends on it (the sync function sizes its config
 * rotation and its follow-up work from it, the API its staleness and `is_running` rules), fed by the
 * same environment variables that the CDK app and the local stack set from one deployment setting.
 */

/** Environment variables of the cadence. `FULL_SYNC_SECONDS` (local stack) wins over `FULL_SYNC_MINUTES`. */
export const CADENCE_ENV = {
  fullSyncMinutes: 'FULL_SYNC_MINUTES',
  fullSyncSeconds: 'FULL_SYNC_SECONDS',
  quickSyncSeconds: 'QUICK_SYNC_SECONDS',
  staleAfterSeconds: 'STALE_AFTER_SECONDS',
} as const;

/** Defaults: the deployment defaults (full every 5 minutes, quick every 30 s, stale after 10 minutes). */
export const DEFAULT_FULL_SYNC_MS = 5 * 60_000;
export const DEFAULT_QUICK_SYNC_MS = 30_000;

/** The cadence every component works with (milliseconds). */
export interface SyncCadence {
  readonly fullIntervalMs: number;
  readonly quickIntervalMs: number;
  readonly staleAfterMs: number;
}

/** A cadence variable is set but not a positive whole number. */
export class CadenceSettingError extends Error {
  override readonly name = 'CadenceSettingError';
}

const positiveInt = z.coerce.number().int().positive();

/** Parses the cadence from an environment object; unset variables take their defaults. */
export function cadenceFromEnv(env: Readonly<Record<string, string | undefined>>): SyncCadence {
  const read = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined) return undefined;
    const parsed = positiveInt.safeParse(raw.trim());
    if (!parsed.success || raw.trim() === '') {
      throw new CadenceSettingError(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
    }
    return parsed.data;
  };
  const fullSeconds = read(CADENCE_ENV.fullSyncSeconds);
  const fullMinutes = read(CADENCE_ENV.fullSyncMinutes);
  const quickSeconds = read(CADENCE_ENV.quickSyncSeconds);
  const staleSeconds = read(CADENCE_ENV.staleAfterSeconds);
  return {
    fullIntervalMs:
      fullSeconds !== undefined
        ? fullSeconds * 1000
        : fullMinutes !== undefined
          ? fullMinutes * 60_000
          : DEFAULT_FULL_SYNC_MS,
    quickIntervalMs: quickSeconds === undefined ? DEFAULT_QUICK_SYNC_MS : quickSeconds * 1000,
    staleAfterMs: staleSeconds === undefined ? DEFAULT_STALE_AFTER_MS : staleSeconds * 1000,
  };
}

/** The environment variables that carry a cadence (what the CDK app and the local stack set). */
export function cadenceEnvironment(cadence: SyncCadence): Record<string, string> {
  const seconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));
  const env: Record<string, string> = {
    [CADENCE_ENV.quickSyncSeconds]: seconds(cadence.quickIntervalMs),
    [CADENCE_ENV.staleAfterSeconds]: seconds(cadence.staleAfterMs),
  };
  if (cadence.fullIntervalMs % 60_000 === 0) {
    env[CADENCE_ENV.fullSyncMinutes] = String(cadence.fullIntervalMs / 60_000);
  } else {
    env[CADENCE_ENV.fullSyncSeconds] = seconds(cadence.fullIntervalMs);
  }
  return env;
}

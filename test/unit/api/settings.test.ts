import { describe, expect, it } from 'vitest';
import { ApiSettingsError, apiSettingsFromEnv } from '#shared/api/settings.ts';

describe('apiSettingsFromEnv', () => {
  it('has documented defaults', () => {
    expect(apiSettingsFromEnv({})).toEqual({
      staleAfterMs: 600_000,
      quickSyncIntervalMs: 30_000,
      healthMaxSyncAgeMs: 600_000,
      healthMaxConsecutiveErrors: 5,
    });
  });

  it('reads set values and fails naming a bad one', () => {
    expect(apiSettingsFromEnv({ QUICK_SYNC_SECONDS: '15' }).quickSyncIntervalMs).toBe(15_000);
    expect(() => apiSettingsFromEnv({ HEALTH_MAX_CONSECUTIVE_ERRORS: 'many' })).toThrow(
      new ApiSettingsError('HEALTH_MAX_CONSECUTIVE_ERRORS must be a positive whole number, got "many"'),
    );
    expect(() => apiSettingsFromEnv({ STALE_AFTER_SECONDS: '' })).toThrow(ApiSettingsError);
  });
});

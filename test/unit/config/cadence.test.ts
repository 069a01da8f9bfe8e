import { describe, expect, it } from 'vitest';
import { deploymentCadence, parseDeploymentConfig } from '#infra/config.ts';
import { handlerEnvironment } from '#local/stack/start-local-stack.ts';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import { CadenceSettingError, cadenceEnvironment, cadenceFromEnv } from '#shared/config/cadence.ts';
import { createSyncServiceFromEnv } from '#shared/sync/service.ts';

const CLUSTERS = JSON.stringify({
  clusters: [
    {
      id: 'lab-a',
      name: 'Lab A',
      endpoints: [{ url: 'https://127.0.0.1:8006' }],
      tokenId: 'inventory@pve!sync',
      tokenSecret: { env: 'PVE_TOKEN' },
    },
  ],
});

describe('cadenceFromEnv', () => {
  it('defaults to full every 5 minutes, quick every 30 s, stale after 10 minutes', () => {
    expect(cadenceFromEnv({})).toEqual({
      fullIntervalMs: 300_000,
      quickIntervalMs: 30_000,
      staleAfterMs: 600_000,
    });
  });

  it('reads minutes or (more precise, locally) seconds for the full period', () => {
    expect(cadenceFromEnv({ FULL_SYNC_MINUTES: '10' }).fullIntervalMs).toBe(600_000);
    expect(cadenceFromEnv({ FULL_SYNC_MINUTES: '10', FULL_SYNC_SECONDS: '90' }).fullIntervalMs).toBe(90_000);
  });

  it('refuses a bad value naming the variable', () => {
    expect(() => cadenceFromEnv({ QUICK_SYNC_SECONDS: 'fast' })).toThrow(
      new CadenceSettingError('QUICK_SYNC_SECONDS must be a positive whole number, got "fast"'),
    );
  });

  it('round-trips through the environment the deployments set', () => {
    for (const cadence of [
      { fullIntervalMs: 120_000, quickIntervalMs: 15_000, staleAfterMs: 300_000 },
      { fullIntervalMs: 90_000, quickIntervalMs: 5_000, staleAfterMs: 600_000 },
    ]) {
      expect(cadenceFromEnv(cadenceEnvironment(cadence))).toEqual(cadence);
    }
  });
});

describe('one cadence reaches every component', () => {
  it('the CDK app derives one cadence from its settings', () => {
    const config = parseDeploymentConfig({
      fullSyncMinutes: 10,
      quickSyncSeconds: 15,
      staleAfterMinutes: 20,
    });
    expect(deploymentCadence(config)).toEqual({
      fullIntervalMs: 600_000,
      quickIntervalMs: 15_000,
      staleAfterMs: 1_200_000,
    });
  });

  it('the sync service built from the environment sizes its rotation with the full period', async () => {
    for (const minutes of [2, 5, 10]) {
      const { service, connector } = await createSyncServiceFromEnv({
        env: { CLUSTERS_CONFIG: CLUSTERS, FULL_SYNC_MINUTES: String(minutes), PVE_TOKEN: 'x' },
      });
      expect(service.fullSyncIntervalMs).toBe(minutes * 60_000);
      await connector.close();
    }
  });

  it('the local stack gives the sync function and the API the exact intervals it runs', () => {
    const env = handlerEnvironment({
      dynamodbEndpoint: 'http://127.0.0.1:1',
      tables: { inventory: 'i', syncState: 's', ownership: 'o', audit: 'a', live: 'l' },
      clustersJson: CLUSTERS,
      quickIntervalMs: 5_000,
      fullIntervalMs: 90_000,
      staleAfterMs: 120_000,
      logLevel: 'ERROR',
    });
    expect(cadenceFromEnv(env)).toEqual({
      fullIntervalMs: 90_000,
      quickIntervalMs: 5_000,
      staleAfterMs: 120_000,
    });
    expect(apiSettingsFromEnv(env)).toMatchObject({ staleAfterMs: 120_000, quickSyncIntervalMs: 5_000 });
  });
});

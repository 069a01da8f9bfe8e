import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack/index.ts';

/**
 * Clusters sync independently on the local stack: while one cluster's listing hangs (simulator
 * fault, until the client's 15 s timeout), the other cluster keeps its quick-sync cadence. With
 * passes in lockstep, the other cluster could sync at most about once per hung request.
 */

let stack: LocalStack;
let dataDir: string;
const probeBase = 20_000 + Math.floor(Math.random() * 20_000);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pve-isolation-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `iso-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 10,
      seed: 9,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
    },
    fullIntervalMs: 600_000,
    quickIntervalMs: 500,
    seed: false,
    logLevel: 'SILENT',
    publishState: false,
  });
  await stack.firstSync;
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('cluster isolation on the local stack', () => {
  it("keeps syncing one cluster while the other's listing hangs", async () => {
    const sim = stack.simulator;
    if (sim === undefined) throw new Error('the stack runs the simulator');
    const [hung, healthy] = sim.clusters.map((c) => c.id);
    if (hung === undefined || healthy === undefined) throw new Error('two clusters expected');
    const errorsBefore = (await stack.repositories.syncState.getClusterState(hung))?.consecutive_errors ?? 0;

    sim.faults.setHang(hung, 'resources', true);
    const hungListingsAtStart = sim.counters(hung).resources;
    const healthyAtStart = sim.counters(healthy).resources;
    // The window: until the hung cluster's first hanging listing has timed out and been recorded.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const state = await stack.repositories.syncState.getClusterState(hung);
      if ((state?.consecutive_errors ?? 0) > errorsBefore) break;
      if (Date.now() > deadline) throw new Error('the hanging listing was never recorded as failed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const healthyListings = sim.counters(healthy).resources - healthyAtStart;
    const hungListings = sim.counters(hung).resources - hungListingsAtStart;
    sim.faults.setHang(hung, 'resources', false);

    // One hung listing (two if a pass had just begun when the fault was set) …
    expect(hungListings).toBeGreaterThanOrEqual(1);
    expect(hungListings).toBeLessThanOrEqual(2);
    // … while the healthy cluster went on listing pass after pass.
    expect(healthyListings, `healthy listings during the hang: ${healthyListings}`).toBeGreaterThanOrEqual(6);
    const healthyState = await stack.repositories.syncState.getClusterState(healthy);
    expect(healthyState?.consecutive_errors).toBe(0);
  });
});

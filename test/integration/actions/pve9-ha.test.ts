import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionService } from '#shared/actions/action-service.ts';
import type { Caller } from '#shared/http/identity.ts';
import { type SyncHarness, startSyncHarness } from '../sync/harness.ts';

/*
 * A power action on a guest just put under HA on PVE 9: until the HA manager has processed the
 * resource, `status/current` says `ha.state: null`, and the confirmation poll must read it.
 */

const CLUSTER = 'sim-1';
const admin: Caller = { username: 'dave', roles: { admin: true, teacher: false } };

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness(
    'pve9-ha',
    { clusters: 1, guestsPerCluster: 30, pveVersion: 9, taskDelayMs: 100, probeListeners: false },
    {},
  );
});

afterAll(async () => {
  await h?.close();
});

describe('an action on a freshly HA-managed guest on PVE 9', () => {
  it('reads ha.state null and confirms the start once the HA stack has acted', async () => {
    const guest = h.sim
      .groundTruth(CLUSTER)
      .find(
        (g) =>
          g.type === 'qemu' &&
          g.status === 'stopped' &&
          !g.template &&
          g.hastate === undefined &&
          g.lock === undefined,
      );
    if (guest === undefined) throw new Error('fleet has no stopped VM outside HA');
    h.sim.addToHa(CLUSTER, guest.vmid, { crmDelayMs: 1_500 });
    const cluster = h.clusters.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const gateway = await h.connector.connect(cluster);
    const before = await gateway.guestStatus(guest.node, 'qemu', guest.vmid);
    expect(before.ha).toMatchObject({ managed: true, state: null });

    // The listing already shows the requested HA state: the stored VM is HA-managed.
    await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    const warnings: string[] = [];
    const service = createActionService({
      inventory: h.repositories.inventory,
      ownership: h.repositories.ownership,
      clusterIds: async () => [CLUSTER],
      gatewayFor: async () => gateway,
      logger: { info: () => {}, warn: (message) => warnings.push(message) },
      waitMs: 10_000,
      pollIntervalMs: 200,
    });
    const result = await service.perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'start',
      clusterId: CLUSTER,
    });
    expect(result).toMatchObject({ outcome: 'confirmed', status: 'running' });
    expect(warnings).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNERSHIP_BY_VM_INDEX } from '#shared/store/table-design.ts';
import { REMOVAL_RECHECK_AFTER_MS } from '#shared/sync/engine.ts';
import { attachIndexLag, type LaggingIndex } from '../../helpers/lagging-index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/**
 * The `ByVm` index lags writes: an assignment made seconds before its guest disappears can be
 * missing when the sync suspends the removed guest's assignments. The sync looks again later.
 */

let h: SyncHarness;
let index: LaggingIndex;
const CLUSTER = 'sim-1';

beforeAll(async () => {
  h = await startSyncHarness('sync-removal-recheck', { guestsPerCluster: 20, clusters: 1 });
  index = attachIndexLag(h.tables.documentClient, OWNERSHIP_BY_VM_INDEX);
  expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' })).summary.ok).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

describe('suspending a removed guest’s assignments', () => {
  it('suspends an assignment made just before the removal that the index did not show yet', async () => {
    const vmid = 104;
    await h.repositories.ownership.putAssignment({
      username: 'bob',
      cluster_id: CLUSTER,
      vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    index.lag((item) => item.username === 'bob');
    h.sim.destroyGuest(CLUSTER, vmid);
    await h.sim.settled();
    await h.tick(1_000);

    const removal = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(removal.summary.ok).toBe(true);
    expect(
      await h.repositories.inventory.getVm({ cluster_id: CLUSTER, vmid }, { consistentRead: true }),
    ).toBeNull();
    expect(index.hidden).toBeGreaterThan(0);
    // The first lookup missed it: still active.
    expect(await h.repositories.ownership.listAssignmentsOfUser('bob')).toHaveLength(1);
    expect((await h.repositories.syncState.getClusterState(CLUSTER))?.removals_to_recheck).toEqual([
      { vmid, removed_at: expect.any(Number) },
    ]);

    index.catchUp();
    await h.tick(REMOVAL_RECHECK_AFTER_MS);
    const next = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(next.summary.ok).toBe(true);
    expect(await h.repositories.ownership.listAssignmentsOfUser('bob')).toEqual([]);
    expect(await h.repositories.ownership.listOwnersOfVm({ cluster_id: CLUSTER, vmid })).toEqual([
      expect.objectContaining({ username: 'bob', suspended: true }),
    ]);
    expect((await h.repositories.syncState.getClusterState(CLUSTER))?.removals_to_recheck).toEqual([]);
  });

  it('re-checks at once when the VMID comes back, and spares assignments made for the new guest', async () => {
    // The simulator reuses the lowest free VMID: fill the one the previous test freed.
    h.sim.createGuest(CLUSTER, { name: 'filler' });
    const vmid = 106;
    await h.repositories.ownership.putAssignment({
      username: 'carol',
      cluster_id: CLUSTER,
      vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    index.lag((item) => item.username === 'carol');
    h.sim.destroyGuest(CLUSTER, vmid);
    await h.sim.settled();
    await h.tick(1_000);
    expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' })).summary.ok).toBe(
      true,
    );
    expect(await h.repositories.ownership.listAssignmentsOfUser('carol')).toHaveLength(1);

    index.catchUp();
    const reused = h.sim.createGuest(CLUSTER, { name: 'reused' });
    expect(reused).toBe(vmid);
    await h.sim.settled();
    await h.tick(1_000);
    expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' })).summary.ok).toBe(
      true,
    );
    expect(await h.repositories.ownership.listAssignmentsOfUser('carol')).toEqual([]);
    expect(
      await h.repositories.inventory.getVm({ cluster_id: CLUSTER, vmid }, { consistentRead: true }),
    ).toMatchObject({
      name: 'reused',
    });

    // An assignment of the new guest (made after the removal) is left alone by later runs.
    await h.repositories.ownership.putAssignment({
      username: 'dave',
      cluster_id: CLUSTER,
      vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    await h.tick(REMOVAL_RECHECK_AFTER_MS);
    expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' })).summary.ok).toBe(
      true,
    );
    expect(await h.repositories.ownership.listAssignmentsOfUser('dave')).toHaveLength(1);
  });
});

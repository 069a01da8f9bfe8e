import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '#local/dynamodb-local.ts';
import { type StreamPoller, startStreamPoller } from '#local/live/stream-poller.ts';
import { listVmsPage } from '#shared/api/list-vms.ts';
import { resolveVisibleScope, vmKeyString } from '#shared/api/visibility.ts';
import { type ApiVm, ApiVmSchema } from '#shared/domain/vm-record.ts';
import { discloseVm } from '#shared/http/disclosure.ts';
import type { Caller } from '#shared/http/identity.ts';
import { toLiveRecords } from '#shared/live/adapters/stream-event.ts';
import type { LiveSource } from '#shared/live/changes.ts';
import { createLiveFanout, type LiveFanout } from '#shared/live/fanout.ts';
import type { LivePoster } from '#shared/live/ports.ts';
import type { LiveServerMessage } from '#shared/live/protocol.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import { DynamoDbLiveStore } from '#shared/store/dynamodb/live-repository.ts';
import type { Repositories } from '#shared/store/ports.ts';
import { createTestTables, dynamoDbEndpoint, type TestTables } from '../../helpers/dynamodb.ts';
import { newVm } from '../store/fixtures.ts';

/**
 * Property: for random interleavings of sync writes (status and detail changes, runtime stats,
 * removals and re-creations), user actions (pending actions) and ownership changes (assignments
 * added and suspended), a client that starts from the list and applies every message it is pushed
 * (through the real streams of DynamoDB Local, the local event source mapping and the fan-out) ends
 * with exactly what a fresh list answers. The clock is fixed, so the clock-derived fields agree too.
 * CPU/memory-only changes arrive as compact `runtime` frames, applied by the protocol's merge rule.
 */

// Fixed for the run, but taken from the real clock: DynamoDB Local deletes items whose TTL lies in
// the real past (a connection's lasts 2 h from `connected_at`), and with a fixed date the test's
// connections vanished mid-run once that date was over two hours old.
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const CLUSTERS = ['c1', 'c2'] as const;
const VMIDS = [100, 101, 102, 103] as const;
const NODES = ['pve0', 'pve1'] as const;
const USERS: Record<string, Caller> = {
  alice: { username: 'alice', roles: { admin: false, teacher: false } },
  root: { username: 'root', roles: { admin: true, teacher: false } },
};

let tables: TestTables;
let repositories: Repositories;
let poller: StreamPoller;
let fanout: LiveFanout;
let streams: DynamoDBStreamsClient;
const inbox = new Map<string, LiveServerMessage[]>();
let observedAt = NOW - 60_000;

const poster: LivePoster = {
  async post(connectionId, message) {
    inbox.get(connectionId)?.push(message);
    return 'sent';
  },
  async close() {},
};

async function list(caller: Caller): Promise<Map<string, ApiVm>> {
  const scope = await resolveVisibleScope(caller, repositories.ownership);
  const page = await listVmsPage(repositories, scope, {
    filters: {},
    limit: 10_000,
    nowMs: NOW,
    staleAfterMs: 600_000,
  });
  // As the list route answers it: failure details for admins only.
  return new Map(page.vms.map((vm) => [vmKeyString(vm), discloseVm(vm, caller)]));
}

/** Runtime frames applied over all runs (the property must exercise them). */
let runtimeFramesApplied = 0;

/** What a client does with a message; a `resync` reloads. */
async function apply(
  state: Map<string, ApiVm>,
  message: LiveServerMessage,
  caller: Caller,
): Promise<Map<string, ApiVm>> {
  if (message.type === 'resync') return list(caller);
  if (message.type === 'runtime') {
    runtimeFramesApplied += 1;
    // Only the figures, and only for VMs the client holds.
    for (const [vmid, cpu, memory] of message.vms) {
      const id = vmKeyString({ cluster_id: message.cluster, vmid });
      const known = state.get(id);
      if (known !== undefined) state.set(id, { ...known, cpu_usage: cpu, memory_usage: memory });
    }
    return state;
  }
  if (message.type !== 'delta') return state;
  for (const key of message.removed) state.delete(vmKeyString(key));
  for (const change of message.vms) {
    const id = vmKeyString(change);
    const known = state.get(id);
    // A VM new to the client must come whole.
    state.set(id, known === undefined ? ApiVmSchema.parse(change) : { ...known, ...change });
  }
  return state;
}

const key = fc.record({ cluster_id: fc.constantFrom(...CLUSTERS), vmid: fc.constantFrom(...VMIDS) });
const operation = fc.oneof(
  fc.record({
    kind: fc.constant('status' as const),
    key,
    status: fc.constantFrom('running', 'stopped', 'paused'),
  }),
  fc.record({ kind: fc.constant('rename' as const), key, name: fc.stringMatching(/^[a-z]{1,8}$/) }),
  fc.record({
    kind: fc.constant('error' as const),
    key,
    error: fc.option(fc.constantFrom('boom at /nodes/x', 'agent timeout')),
  }),
  fc.record({ kind: fc.constant('pending' as const), key }),
  fc.record({
    kind: fc.constant('runtime' as const),
    cluster_id: fc.constantFrom(...CLUSTERS),
    node: fc.constantFrom(...NODES),
    cpu: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('remove' as const), key }),
  fc.record({ kind: fc.constant('create' as const), key }),
  fc.record({ kind: fc.constant('assign' as const), key }),
  fc.record({ kind: fc.constant('suspend' as const), key }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

async function run(op: Operation): Promise<void> {
  observedAt += 1_000;
  switch (op.kind) {
    case 'status':
      await repositories.inventory.applyChanges([
        {
          key: op.key,
          observedAt,
          set: { status: op.status, boot_time: op.status === 'running' ? NOW - 5_000 : null },
        },
      ]);
      return;
    case 'rename':
      await repositories.inventory.applyChanges([{ key: op.key, observedAt, set: { name: op.name } }]);
      return;
    case 'error':
      await repositories.inventory.applyChanges([{ key: op.key, observedAt, set: { sync_error: op.error } }]);
      return;
    case 'pending':
      await repositories.inventory.setPending({ key: op.key, action: 'start', since: NOW - 1_000 });
      return;
    case 'runtime': {
      const vms = (await repositories.inventory.listAllClusterVms(op.cluster_id)).filter(
        (vm) => vm.node === op.node,
      );
      await repositories.syncState.writeNodeRuntime({
        clusterId: op.cluster_id,
        node: op.node,
        stats: new Map(
          vms.map((vm, index) => [
            vm.vmid,
            { cpu_usage: ((op.cpu + index * 7) % 1000) / 10, memory_usage: 50 },
          ]),
        ),
        observedAt,
      });
      return;
    }
    case 'remove':
      await repositories.inventory.deleteVms([{ key: op.key, observedAt }]);
      return;
    case 'create':
      await repositories.inventory.putNew([
        newVm(op.key.cluster_id, op.key.vmid, { node: NODES[op.key.vmid % 2], observed_at: observedAt }),
      ]);
      return;
    case 'assign':
      await repositories.ownership.putAssignment({
        username: 'alice',
        ...op.key,
        source: 'admin',
        created_at: observedAt,
      });
      return;
    case 'suspend':
      await repositories.ownership.suspendVm(op.key, observedAt);
      return;
  }
}

beforeAll(async () => {
  tables = await createTestTables('live-prop');
  repositories = createDynamoDbRepositories(tables.documentClient, tables.names);
  const store = new DynamoDbLiveStore(tables.documentClient, tables.names.live, { now: () => NOW });
  fanout = createLiveFanout({
    store,
    poster,
    ownership: repositories.ownership,
    readers: repositories,
    now: () => NOW,
    staleAfterMs: 600_000,
  });
  for (const cluster of CLUSTERS) {
    await repositories.syncState.putClusterState({
      cluster_id: cluster,
      last_success_at: NOW - 10_000,
      last_full_sync_at: NOW - 10_000,
      nodes: Object.fromEntries(
        NODES.map((node) => [
          node,
          { online: true, last_seen_at: NOW - 10_000, last_online_at: NOW - 10_000 },
        ]),
      ),
    });
  }
  await repositories.inventory.putNew(
    CLUSTERS.flatMap((cluster) =>
      VMIDS.map((vmid) => newVm(cluster, vmid, { node: NODES[vmid % 2], observed_at: observedAt })),
    ),
  );
  // The same VMID on both clusters: alice owns it on c1 only.
  for (const owned of [
    { cluster_id: 'c1', vmid: 100 },
    { cluster_id: 'c2', vmid: 102 },
    { cluster_id: 'c1', vmid: 102 },
  ]) {
    await repositories.ownership.putAssignment({
      username: 'alice',
      ...owned,
      source: 'admin',
      created_at: observedAt,
    });
  }
  for (const [id, caller] of Object.entries(USERS)) {
    inbox.set(id, []);
    await store.putConnection({
      connection_id: id,
      username: caller.username,
      admin: caller.roles.admin,
      teacher: caller.roles.teacher,
      token_expires_at: NOW + 3_600_000,
      connected_at: NOW,
    });
  }
  streams = new DynamoDBStreamsClient(localClientConfig(dynamoDbEndpoint()));
  const sources = new Map<string, LiveSource>([
    [tables.names.inventory, 'inventory'],
    [tables.names.syncState, 'syncState'],
    [tables.names.ownership, 'ownership'],
  ]);
  poller = await startStreamPoller({
    dynamodb: tables.client,
    streams,
    tables: [tables.names.inventory, tables.names.syncState, tables.names.ownership],
    handler: async (event) => {
      const result = await fanout.process(toLiveRecords(event.Records, (table) => sources.get(table)));
      return {
        batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })),
      };
    },
    pollIntervalMs: 50,
    batchWindowMs: 100,
  });
});

afterAll(async () => {
  await poller?.stop();
  streams?.destroy();
  await tables?.drop();
});

describe('live deltas', () => {
  it('bring a client from the list to exactly what a fresh list answers, for any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 3, maxLength: 15 }), async (operations) => {
        await poller.drain();
        const states = new Map<string, Map<string, ApiVm>>();
        for (const [id, caller] of Object.entries(USERS)) {
          states.set(id, await list(caller));
          inbox.set(id, []);
        }
        for (const op of operations) await run(op);
        await poller.drain();
        for (const [id, caller] of Object.entries(USERS)) {
          let state = states.get(id) as Map<string, ApiVm>;
          for (const message of inbox.get(id) ?? []) state = await apply(state, message, caller);
          const fresh = await list(caller);
          expect(Object.fromEntries([...state].sort())).toEqual(Object.fromEntries([...fresh].sort()));
        }
      }),
      // A failure reports its counterexample at once: shrinking through real streams would outlast the timeout.
      { numRuns: 20, endOnFailure: true },
    );
    expect(runtimeFramesApplied).toBeGreaterThan(0);
  }, 300_000);
});

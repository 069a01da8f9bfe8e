import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext } from '#local/gateway/server.ts';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import { DEFAULT_REALM_SUFFIXES } from '#shared/auth/usernames.ts';
import { routeKey, routes } from '#shared/http/routes.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { createProxmoxClient } from '#shared/proxmox/client.ts';
import { createRefreshService } from '#shared/refresh/refresh-service.ts';
import { DynamoDbRefreshStore } from '#shared/refresh/refresh-store.ts';
import { localSyncInvoker } from '#shared/refresh/sync-invoker.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import { createProxmoxConnector, type ProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { createSyncService, type EngineSyncService } from '#shared/sync/service.ts';
import { PVE_MAJORS, type Simulator, startSimulator } from '#simulator/index.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';
import { simClusters } from '../actions/sim-fixtures.ts';
import { control } from '../simulator/sim-client.ts';

/**
 * GET /api/vms with the refresh wired the way the deployed handler wires it (a refresh service on
 * the SyncState table) and the sync invoked in-process against the simulator: two handler
 * instances stand for two Lambda instances sharing only DynamoDB.
 */

// The API's refresh reads the simulator through the sync: against both versions.
describe.each(PVE_MAJORS)('GET /api/vms refreshed from PVE %i', (pveVersion) => {
  let sim: Simulator;
  let tables: TestTables;
  let repos: Repositories;
  let connector: ProxmoxConnector;
  let sync: EngineSyncService;

  beforeAll(async () => {
    sim = await startSimulator({
      clusters: 2,
      nodesPerCluster: 2,
      // 60 guests in all: one caller can have more than the 50 VMs whose addresses a live read re-reads.
      guestsPerCluster: 30,
      seed: 9,
      probeListeners: false,
      drift: false,
      pveVersion,
    });
    tables = await createTestTables(`list-refresh-${pveVersion}`);
    repos = createDynamoDbRepositories(tables.documentClient, tables.names);
    const { clusters, env } = simClusters(sim);
    connector = createProxmoxConnector({
      sources: { env },
      clientDeps: { retry: { retries: 0 } },
      createClient: createProxmoxClient,
    });
    sync = createSyncService({ clusters, repositories: repos, connect: (c) => connector.connect(c) });
  });

  afterAll(async () => {
    await connector?.close();
    await tables?.drop();
    await sim?.stop();
  });

  /** One list handler instance with its own refresh service (its own in-process state). */
  function listHandlerInstance(refreshClock: () => number = Date.now) {
    const refresh = createRefreshService({
      now: refreshClock,
      store: new DynamoDbRefreshStore(tables.documentClient, tables.names.syncState),
      invoker: localSyncInvoker(sync),
      syncState: repos.syncState,
      pollIntervalMs: 20,
    });
    return createListVmsHandler(() => ({
      repositories: repos,
      settings: apiSettingsFromEnv({}),
      usernames: { realmSuffixes: DEFAULT_REALM_SUFFIXES },
      // One clock for the handler's deadline and the refresh's.
      now: refreshClock,
      refreshClusters: refresh.refreshClusters,
    }));
  }

  async function list(
    handler: ReturnType<typeof listHandlerInstance>,
    user: { username: string; groups: string },
    query: string,
  ) {
    const event: APIGatewayProxyEventV2 = buildHttpApiEvent({
      method: 'GET',
      rawPath: '/api/vms',
      rawQueryString: query,
      headers: {},
      body: '',
      routeKey: routeKey(routes.listVms),
      jwt: { claims: { 'cognito:username': user.username, 'cognito:groups': user.groups }, scopes: null },
    });
    const response = (await handler(
      event,
      createLambdaContext('list-vms', 'req', Date.now() + 30_000),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(200);
    return ListVmsResponseSchema.parse(JSON.parse(String(response.body)));
  }

  const admin = { username: 'dave', groups: '[admins]' };
  const alice = { username: 'alice', groups: '' };

  describe('GET /api/vms with the live refresh', () => {
    it('refreshes a never-synced cluster on the first read', async () => {
      const guest = sim.groundTruth('sim-1')[3];
      if (guest === undefined) throw new Error('no guest');
      await repos.ownership.putAssignment({
        username: 'alice',
        cluster_id: 'sim-1',
        vmid: guest.vmid,
        source: 'admin',
        created_at: 1,
      });
      sim.resetCounters();
      const answer = await list(listHandlerInstance(), alice, '');
      expect(answer.vms.map((vm) => [vm.cluster_id, vm.vmid, vm.name])).toEqual([
        ['sim-1', guest.vmid, guest.name],
      ]);
      expect(answer.mode).toBe('inventory');
      expect(answer.stale).toBe(false);
      expect(sim.counters('sim-1').resources).toBe(1);
      expect(sim.counters('sim-2').total).toBe(0);
    });

    it('makes one sync call for concurrent live reads on two handler instances, none for a read within 5 s', async () => {
      await sync.syncCluster({ cluster_id: 'sim-2', mode: 'quick' });
      sim.resetCounters();
      const [a, b] = [listHandlerInstance(), listHandlerInstance()];

      const answers = await Promise.all([
        list(a, admin, 'cluster=sim-2&force_refresh=true'),
        list(b, admin, 'cluster=sim-2&live=true'),
        list(b, admin, 'cluster=sim-2&live=1'),
      ]);
      expect(answers.map((answer) => answer.mode)).toEqual(['live', 'live', 'live']);
      for (const answer of answers) {
        expect(answer.refresh?.clusters.map((c) => [c.cluster_id, c.outcome])).toEqual([
          ['sim-2', expect.stringMatching(/^(refreshed|coalesced)$/)],
        ]);
      }
      expect(answers.every((answer) => answer.vms.length === sim.groundTruth('sim-2').length)).toBe(true);
      expect(sim.counters('sim-2').resources).toBe(1);

      const again = await list(a, admin, 'cluster=sim-2&force_refresh=true');
      expect(again.mode).toBe('live');
      expect(again.stale).toBe(false);
      expect(sim.counters('sim-2').resources).toBe(1);
      expect(sim.counters('sim-1').total).toBe(0);
    });

    it('answers from the table flagged stale when the cluster cannot be refreshed', async () => {
      sim.faults.setClusterDown('sim-1', true);
      try {
        // Later than the 5 s interval after the first test's refresh of sim-1.
        const later = () => Date.now() + 6_000;
        const answer = await list(listHandlerInstance(later), alice, 'force_refresh=true');
        // Not refreshed: the answer is the table's, says so, and says why per cluster.
        expect(answer.mode).toBe('inventory');
        expect(answer.stale).toBe(true);
        expect(answer.refresh).toEqual({
          clusters: [
            {
              cluster_id: 'sim-1',
              outcome: 'failed',
              reason: 'the cluster could not be read; see /api/sync/stats',
            },
          ],
        });
        expect(answer.vms).toHaveLength(1);
      } finally {
        sim.faults.setClusterDown('sim-1', false);
      }
    });

    it("re-reads the addresses of a small scope's VMs (live IP): the owner sees a new IP at once", async () => {
      // sim-1 was down in the previous test: a manual sync ends its backoff.
      expect((await sync.syncCluster({ cluster_id: 'sim-1', mode: 'full', manual: true })).ok).toBe(true);
      const guest = sim
        .groundTruth('sim-1')
        .find((g) => g.type === 'qemu' && g.status === 'running' && g.agent === 'running' && !g.template);
      if (guest === undefined) throw new Error('no running guest with a running agent');
      await repos.ownership.putAssignment({
        username: 'erin',
        cluster_id: 'sim-1',
        vmid: guest.vmid,
        source: 'admin',
        created_at: 1,
      });
      const before = await repos.inventory.getVm({ cluster_id: 'sim-1', vmid: guest.vmid });
      const newIp = '127.210.0.5';
      expect(before?.ip).not.toBe(newIp);
      // The guest renews its lease: only its agent knows, no listing shows it.
      const changed = await control(sim.controlUrl, `/_sim/clusters/sim-1/guests/${guest.vmid}/ip`, {
        ip: newIp,
      });
      expect(changed.status).toBe(200);
      sim.resetCounters();

      // Past the 5 s interval after the earlier refreshes of sim-1.
      const later = () => Date.now() + 20_000;
      const answer = await list(listHandlerInstance(later), { username: 'erin', groups: '' }, 'live=true');
      expect(answer.refresh).toEqual({
        clusters: [{ cluster_id: 'sim-1', outcome: 'refreshed', reason: null }],
      });
      expect(answer.mode).toBe('live');
      expect(answer.stale).toBe(false);
      expect(answer.refresh).toEqual({
        clusters: [{ cluster_id: 'sim-1', outcome: 'refreshed', reason: null }],
      });
      expect(answer.vms.map((vm) => [vm.vmid, vm.ip])).toEqual([[guest.vmid, newIp]]);
      // One listing, and the agent of that one guest (a detail read of exactly the caller's VMs).
      expect(sim.counters('sim-1')).toMatchObject({ resources: 1, agent: 1 });
    });

    it('refreshes status only for a caller with more than 50 VMs in scope', async () => {
      const all = (['sim-1', 'sim-2'] as const)
        .flatMap((cluster_id) => sim.groundTruth(cluster_id).map((g) => ({ cluster_id, vmid: g.vmid })))
        .slice(0, 51);
      for (const { cluster_id, vmid } of all) {
        await repos.ownership.putAssignment({
          username: 'frank',
          cluster_id,
          vmid,
          source: 'admin',
          created_at: 1,
        });
      }
      await sync.syncCluster({ cluster_id: 'sim-2', mode: 'full' });
      const guest = sim
        .groundTruth('sim-1')
        .find((g) => g.type === 'qemu' && g.status === 'running' && g.agent === 'running' && !g.template);
      if (guest === undefined) throw new Error('no running guest with a running agent');
      const before = await repos.inventory.getVm({ cluster_id: 'sim-1', vmid: guest.vmid });
      const changed = await control(sim.controlUrl, `/_sim/clusters/sim-1/guests/${guest.vmid}/ip`, {
        ip: '127.210.0.6',
      });
      expect(changed.status).toBe(200);
      sim.resetCounters();

      const later = () => Date.now() + 40_000;
      const answer = await list(listHandlerInstance(later), { username: 'frank', groups: '' }, 'live=true');
      expect(answer.vms).toHaveLength(51);
      // Both clusters' status was refreshed (one listing each): that is "live" for a scope this large.
      expect(answer.mode).toBe('live');
      expect(sim.counters('sim-1')).toMatchObject({ resources: 1, agent: 0 });
      expect(sim.counters('sim-2')).toMatchObject({ resources: 1, agent: 0 });
      expect(answer.vms.find((vm) => vm.cluster_id === 'sim-1' && vm.vmid === guest.vmid)?.ip).toBe(
        before?.ip,
      );
    });
  });
});

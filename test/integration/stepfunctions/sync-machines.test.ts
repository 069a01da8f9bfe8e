import { createServer } from 'node:net';
import type { Context } from 'aws-lambda';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitStateNames } from '#local/stack/sync-runner.ts';
import {
  bindSyncTaskHandlers,
  runStateMachine,
  type SyncDefinitions,
  synthesizeSyncDefinitions,
  type TaskHandler,
} from '#local/stepfunctions/index.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import { RecordRunOutputSchema } from '#shared/sync/contract.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { createTestTables, dynamoDbEndpoint, type TestTables } from '../../helpers/dynamodb.ts';

/*
 * The synthesized sync state machines, run locally with every Lambda task bound to the REAL handler
 * modules (functions/sync/*.ts), configured through the environment exactly as in Lambda, against
 * the simulator over HTTPS and DynamoDB Local.
 */

let sim: Simulator;
let tables: TestTables;
let repositories: Repositories;
let definitions: SyncDefinitions;
let handlers: Record<'listClusters' | 'syncCluster' | 'recordRun', TaskHandler>;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `${functionName}-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function waitOverrides(definition: StateMachineDefinition): Record<string, number> {
  const names = waitStateNames(definition);
  expect(names.length).toBeGreaterThan(0);
  return Object.fromEntries(names.map((name) => [name, 10]));
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 3,
    guestsPerCluster: 20,
    drift: false,
    probePorts: { rdp: await freePort(), ssh: await freePort() },
  });
  await sim.settled();
  tables = await createTestTables('sync-machines');
  repositories = createDynamoDbRepositories(tables.documentClient, tables.names);
  // The handlers build their service from the environment, as in Lambda.
  Object.assign(process.env, {
    CLUSTERS_CONFIG: JSON.stringify(sim.clusterConfig()),
    PVE_SIM_TOKEN: sim.clusters[0]?.tokenSecret ?? '',
    INVENTORY_TABLE: tables.names.inventory,
    SYNC_STATE_TABLE: tables.names.syncState,
    OWNERSHIP_TABLE: tables.names.ownership,
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_TRACE_ENABLED: 'false',
  });
  const [listClusters, syncCluster, recordRun] = await Promise.all([
    import('#functions/sync/list-clusters.ts'),
    import('#functions/sync/sync-cluster.ts'),
    import('#functions/sync/record-run.ts'),
  ]);
  handlers = {
    listClusters: (input) => listClusters.handler(input, lambdaContext('ListClusters')),
    syncCluster: (input) => syncCluster.handler(input, lambdaContext('SyncCluster')),
    recordRun: (input) => recordRun.handler(input, lambdaContext('RecordRun')),
  };
  definitions = synthesizeSyncDefinitions({ config: { quickSyncSeconds: 30 } });
}, 180_000);

afterAll(async () => {
  await sim?.stop();
  await tables?.drop();
});

describe('sync state machines with the real handlers', () => {
  it('full sync with one cluster down: the execution succeeds, the others are synced, the failure is recorded', async () => {
    sim.faults.setClusterDown('sim-2', true);
    await sim.settled();
    const output = await runStateMachine(
      definitions.full,
      { mode: 'full' },
      {
        taskHandlers: bindSyncTaskHandlers(definitions.full, handlers),
        retryIntervalOverrides: { SyncCluster: 0 },
      },
    );
    expect(RecordRunOutputSchema.parse(output)).toEqual({ mode: 'full', clusters: 3, ok: 2, failed: 1 });

    for (const id of ['sim-1', 'sim-3']) {
      const vms = await repositories.inventory.listAllClusterVms(id);
      expect(vms).toHaveLength(20);
      expect(vms.filter((vm) => vm.config_checked_at !== null)).toHaveLength(20);
      expect(await repositories.syncState.getClusterState(id)).toMatchObject({ consecutive_errors: 0 });
    }
    expect(await repositories.inventory.listAllClusterVms('sim-2')).toEqual([]);
    const failed = await repositories.syncState.getClusterState('sim-2');
    expect(failed?.consecutive_errors).toBe(1);
    expect(failed?.last_error).toMatch(/Connection/i);
    expect(await repositories.syncState.getGlobalRunStats('full')).toMatchObject({
      clusters: 3,
      ok: 2,
      failed: 1,
    });
    sim.faults.reset();
    await sim.settled();
  });

  it('quick sync runs its two passes, one listing per cluster each', async () => {
    sim.resetCounters();
    const output = await runStateMachine(
      definitions.quick,
      { mode: 'quick' },
      {
        taskHandlers: bindSyncTaskHandlers(definitions.quick, handlers),
        waitTimeOverrides: waitOverrides(definitions.quick),
        retryIntervalOverrides: { SyncCluster1: 0, SyncCluster2: 0 },
      },
    );
    expect(output).toEqual({ mode: 'quick', clusters: 3, ok: 2, failed: 1 });
    // sim-2 is still backing off after the full sync's failure: its passes are skipped.
    for (const id of ['sim-1', 'sim-3']) expect(sim.counters(id)).toMatchObject({ resources: 2, total: 2 });
    expect(sim.counters('sim-2').total).toBe(0);
    const stats = await repositories.syncState.getGlobalRunStats('quick');
    expect(stats).toMatchObject({ clusters: 3, ok: 2, failed: 1 });
    for (const id of ['sim-1', 'sim-3']) {
      const state = await repositories.syncState.getClusterState(id);
      expect(state?.last_quick_sync_at).not.toBeNull();
    }
  });

  it('a manual quick sync runs through a backoff: its first pass retries the cluster, a success resets it', async () => {
    // Backing off for minutes (set here: the earlier failure's own 20 s backoff may be over already).
    await repositories.syncState.updateClusterState('sim-2', {
      consecutive_errors: 2,
      backoff_until: Date.now() + 300_000,
      updated_at: Date.now(),
    });
    sim.resetCounters();
    const output = await runStateMachine(
      definitions.quick,
      { mode: 'quick', cluster_id: 'sim-2', manual: true },
      {
        taskHandlers: bindSyncTaskHandlers(definitions.quick, handlers),
        waitTimeOverrides: waitOverrides(definitions.quick),
        retryIntervalOverrides: { SyncCluster1: 0, SyncCluster2: 0 },
      },
    );
    expect(output).toEqual({ mode: 'quick', clusters: 1, ok: 1, failed: 0 });
    // The first pass never reached Proxmox for sim-2 before: it lists it now (the first full sync
    // it never had, since a cluster without one gets it at once), and the second pass lists it again.
    expect(sim.counters('sim-2').resources).toBe(2);
    expect(await repositories.inventory.listAllClusterVms('sim-2')).toHaveLength(20);
    expect(await repositories.syncState.getClusterState('sim-2')).toMatchObject({
      consecutive_errors: 0,
      backoff_until: null,
    });
  });
});

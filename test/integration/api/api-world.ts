import { createGetVmHandler } from '#functions/api/get-vm.ts';
import { createListAuditHandler } from '#functions/api/list-audit.ts';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { createSyncHealthHandler } from '#functions/api/sync-health.ts';
import { createSyncStatsHandler } from '#functions/api/sync-stats.ts';
import { createVmHistoryHandler } from '#functions/api/vm-history.ts';
import { createVmIpHandler } from '#functions/api/vm-ip.ts';
import { createVmStatusHandler } from '#functions/api/vm-status.ts';
import type { LocalIssuer } from '#local/auth/issuer.ts';
import { type GatewayLambdaHandler, type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import type { ApiDependencies } from '#shared/api/dependencies.ts';
import { DEFAULT_REALM_SUFFIXES } from '#shared/auth/usernames.ts';
import { DEFAULT_STALE_AFTER_MS } from '#shared/domain/staleness.ts';
import type { ClusterStateInput } from '#shared/domain/sync-state.ts';
import type { NewStoredVm } from '#shared/domain/vm-record.ts';
import { routeList } from '#shared/http/routes.ts';
import { DynamoDbAuditTrail } from '#shared/store/dynamodb/audit-repository.ts';
import { DynamoDbClassScheduleStore } from '#shared/store/dynamodb/class-schedule-repository.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { OwnershipRepository, Repositories } from '#shared/store/ports.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';
import { createTestIssuer, TEST_AUDIENCE, testUserTokens } from '../../helpers/tokens.ts';
import { ownershipHandlers, scheduleHandlers } from './ownership-handlers.ts';

/**
 * A running API for integration tests: fresh DynamoDB Local tables, the read and ownership
 * handlers built on repositories over them, the local issuer and the local gateway in front.
 */
export interface ApiWorld {
  readonly tables: TestTables;
  readonly repositories: Repositories;
  readonly deps: ApiDependencies;
  readonly issuer: LocalIssuer;
  readonly gateway: LocalGateway;
  readonly tokens: Awaited<ReturnType<typeof testUserTokens>>;
  /** GET/POST/… through the gateway with a bearer token. */
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** The fixed clock of the tests (epoch ms). */
export const NOW_MS = Date.parse('2026-11-25T12:00:00.000Z');

/** Starts a world; `extraHandlers` override or add handlers by route id. */
export async function startApiWorld(
  label: string,
  extraHandlers: Record<string, GatewayLambdaHandler> = {},
  nowMs: () => number = () => NOW_MS,
): Promise<ApiWorld> {
  const tables = await createTestTables(label);
  const repositories = createDynamoDbRepositories(tables.documentClient, tables.names);
  const deps: ApiDependencies = {
    repositories,
    settings: {
      staleAfterMs: DEFAULT_STALE_AFTER_MS,
      quickSyncIntervalMs: 30_000,
      healthMaxSyncAgeMs: 600_000,
      healthMaxConsecutiveErrors: 5,
    },
    usernames: { realmSuffixes: DEFAULT_REALM_SUFFIXES },
    now: nowMs,
    audit: new DynamoDbAuditTrail(tables.documentClient, tables.names.audit),
  };
  const schedules = new DynamoDbClassScheduleStore(tables.documentClient, tables.names.ownership);
  const issuer = await createTestIssuer();
  const tokens = await testUserTokens(issuer);
  const gateway = await startLocalGateway({
    port: 0,
    routes: routeList,
    issuer,
    audience: TEST_AUDIENCE,
    handlers: {
      listVms: createListVmsHandler(() => deps),
      getVm: createGetVmHandler(() => deps),
      getVmHistory: createVmHistoryHandler(() => deps),
      getVmStatus: createVmStatusHandler(() => deps),
      getVmIp: createVmIpHandler(() => deps),
      getSyncStats: createSyncStatsHandler(() => deps),
      getSyncHealth: createSyncHealthHandler(() => deps),
      listAudit: createListAuditHandler(() => deps),
      ...ownershipHandlers(() => deps),
      ...scheduleHandlers(
        () => deps,
        () => schedules,
      ),
      ...extraHandlers,
    },
  });
  return {
    tables,
    repositories,
    deps,
    issuer,
    gateway,
    tokens,
    request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(`${gateway.url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    },
    async close() {
      await gateway.close();
      await tables.drop();
    },
  };
}

/** A stored VM with sensible defaults (override any field). */
export function vmItem(cluster_id: string, vmid: number, overrides: Partial<NewStoredVm> = {}): NewStoredVm {
  return {
    cluster_id,
    vmid,
    cluster_name: `Cluster ${cluster_id}`,
    name: `vm-${cluster_id}-${vmid}`,
    node: 'pve1',
    type: 'qemu',
    category: 'linux',
    status: 'running',
    ip: `10.0.${vmid % 250}.${(vmid % 200) + 1}`,
    mac: null,
    memory: 2048,
    cores: 2,
    disk_size: 10_737_418_240,
    is_template: false,
    tag_list: ['lab'],
    boot_time: NOW_MS - 3_600_000,
    last_updated: NOW_MS - 60_000,
    observed_at: NOW_MS - 30_000,
    ...overrides,
  };
}

/** A cluster state synced successfully `agoMs` before {@link NOW_MS}, with node `pve1` online. */
export function freshClusterState(
  cluster_id: string,
  counts: { total: number; running: number; error: number } = { total: 0, running: 0, error: 0 },
  agoMs = 30_000,
): ClusterStateInput {
  const at = NOW_MS - agoMs;
  return {
    cluster_id,
    cluster_name: `Cluster ${cluster_id}`,
    last_quick_sync_at: at,
    last_full_sync_at: at,
    last_success_at: at,
    last_attempt_at: at,
    consecutive_errors: 0,
    nodes: { pve1: { online: true, last_seen_at: at, last_online_at: at } },
    counts: { ...counts, templates: 0 },
    updated_at: at,
  };
}

/**
 * The ownership the API tests share: alice owns lab-a:101 and bob lab-b:101 (the same VMID on two
 * clusters); class `net-a` is taught by carol, with alice as a student holding lab-a:102.
 */
export async function seedTestOwnership(ownership: OwnershipRepository): Promise<void> {
  for (const [username, cluster_id] of [
    ['alice', 'lab-a'],
    ['bob', 'lab-b'],
  ] as const) {
    await ownership.putAssignment({ username, cluster_id, vmid: 101, source: 'admin', created_at: NOW_MS });
  }
  await ownership.putClass({ class_id: 'net-a', name: 'Networking A', owner: 'carol', created_at: NOW_MS });
  await ownership.addClassMember('net-a', 'carol', 'teacher');
  await ownership.addClassMember('net-a', 'alice', 'student');
  await ownership.assignClassVm('net-a', { cluster_id: 'lab-a', vmid: 102 }, 'alice', NOW_MS);
}

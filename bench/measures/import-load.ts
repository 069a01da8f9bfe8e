import { performance } from 'node:perf_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Pool } from 'undici';
import { createImportMappingsHandler } from '#functions/api/import-mappings.ts';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { startLocalGateway } from '#local/gateway/server.ts';
import type { ApiDependencies } from '#shared/api/dependencies.ts';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import type { NewStoredVm } from '#shared/domain/vm-record.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { routes } from '#shared/http/routes.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import { type SampleSummary, summarize } from '../lib/stats.ts';

/**
 * Measurement: a large mappings.json import beside a student's VM list, on one process (as on the
 * local stack, where every handler shares the event loop and DynamoDB Local). The student list is
 * sampled alone first, then back to back for as long as the import runs.
 */

/** Result of {@link measureImportLoad}. */
export interface ImportLoadResult {
  users: number;
  entries: number;
  /** status of the import's answer (200, or 413 if refused) */
  importStatus: number;
  importS: number;
  created: number | null;
  alone: SampleSummary;
  duringImport: SampleSummary;
}

const CLUSTERS = ['imp-a', 'imp-b'];
const VMS_PER_CLUSTER = 100;

function vm(cluster_id: string, vmid: number, nowMs: number): NewStoredVm {
  return {
    cluster_id,
    vmid,
    cluster_name: cluster_id,
    name: `vm-${vmid}`,
    node: 'pve1',
    type: 'qemu',
    category: 'linux',
    status: 'running',
    ip: null,
    mac: null,
    memory: 2048,
    cores: 2,
    disk_size: 10_737_418_240,
    is_template: false,
    tag_list: [],
    boot_time: nowMs - 3_600_000,
    last_updated: nowMs,
    observed_at: nowMs,
  };
}

/** Imports `users` users (one VM each) through the gateway while a student lists their VMs. */
export async function measureImportLoad(input: {
  documentClient: DynamoDBDocumentClient;
  tables: TableNames;
  users: number;
  /** student list requests sampled before the import */
  aloneRequests: number;
  log: (line: string) => void;
}): Promise<ImportLoadResult> {
  const { users, log } = input;
  const repositories = createDynamoDbRepositories(input.documentClient, input.tables);
  const now = Date.now();
  await repositories.inventory.batchPut(
    CLUSTERS.flatMap((c) => Array.from({ length: VMS_PER_CLUSTER }, (_, i) => vm(c, 100 + i, now))),
  );
  for (const cluster_id of CLUSTERS) {
    await repositories.syncState.putClusterState({
      cluster_id,
      cluster_name: cluster_id,
      last_quick_sync_at: now,
      last_full_sync_at: now,
      last_success_at: now,
      last_attempt_at: now,
      consecutive_errors: 0,
      nodes: { pve1: { online: true, last_seen_at: now, last_online_at: now } },
      counts: { total: VMS_PER_CLUSTER, running: VMS_PER_CLUSTER, error: 0, templates: 0 },
      updated_at: now,
    });
  }
  await repositories.ownership.putAssignments(
    Array.from({ length: 20 }, (_, i) => ({
      username: 'student1',
      cluster_id: CLUSTERS[i % CLUSTERS.length] ?? 'imp-a',
      vmid: 100 + i,
      source: 'admin' as const,
      created_at: now,
    })),
  );
  const deps: ApiDependencies = {
    repositories,
    settings: apiSettingsFromEnv({}),
    usernames: identityOptionsFromEnv({}),
    now: () => Date.now(),
  };
  const issuer = await createLocalIssuer();
  const gateway = await startLocalGateway({
    port: 0,
    routes: [routes.listVms, routes.importMappings],
    handlers: {
      [routes.listVms.id]: createListVmsHandler(() => deps),
      [routes.importMappings.id]: createImportMappingsHandler(() => deps),
    },
    issuer,
    audience: issuer.clientId,
  });
  const student = await issuer.issueToken('student1', { expiresIn: 7200 });
  const admin = await issuer.issueToken('admin1', { groups: ['admins'], expiresIn: 7200 });
  const pool = new Pool(gateway.url, { connections: 8, pipelining: 1 });
  const listOnce = async (): Promise<number> => {
    const t0 = performance.now();
    const res = await pool.request({
      path: '/api/vms',
      method: 'GET',
      headers: { authorization: `Bearer ${student}` },
    });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`student list answered ${res.statusCode}`);
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < 5; i += 1) await listOnce();
    const alone: number[] = [];
    for (let i = 0; i < input.aloneRequests; i += 1) alone.push(await listOnce());

    const file: Record<string, string[]> = {};
    for (let i = 0; i < users; i += 1) {
      const cluster = CLUSTERS[i % CLUSTERS.length] ?? 'imp-a';
      file[`imported${i}`] = [`${cluster}:${100 + (i % VMS_PER_CLUSTER)}`];
    }
    log(`  importing ${users.toLocaleString('en-US')} users while the student lists…`);
    const t0 = performance.now();
    let finished = false;
    const importing = pool
      .request({
        path: '/api/assignments/import',
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(file),
        headersTimeout: 600_000,
        bodyTimeout: 600_000,
      })
      .then(async (res) => {
        const body: unknown = await res.body.json();
        return { status: res.statusCode, body };
      })
      .finally(() => {
        finished = true;
      });
    const during: number[] = [];
    while (!finished) during.push(await listOnce());
    const answer = await importing;
    const importS = (performance.now() - t0) / 1000;
    const created =
      typeof answer.body === 'object' && answer.body !== null && 'created' in answer.body
        ? Number(answer.body.created)
        : null;
    return {
      users,
      entries: users,
      importStatus: answer.status,
      importS,
      created,
      alone: summarize(alone),
      // At least one sample: the list that was running when the import ended.
      duringImport: summarize(during.length > 0 ? during : [await listOnce()]),
    };
  } finally {
    await pool.close();
    await gateway.close();
  }
}

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { z } from 'zod';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { createTables, localClientConfig } from '#local/dynamodb-local.ts';
import { applyLegacyImport, formatLegacyPlan } from '#local/legacy/apply-import.ts';
import { planLegacyImport, plannedVmKeys, withoutUnknownVms } from '#local/legacy/plan-import.ts';
import { readLegacyDatabaseFile } from '#local/legacy/read-legacy-db.ts';
import { InvalidDurationError, parseDuration } from '#local/stack/durations.ts';
import { dataPaths } from '#local/stack/paths.ts';
import { readStackState } from '#local/stack/stack-state.ts';
import { createDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { type ListAuditResponse, ListAuditResponseSchema } from '#shared/http/schemas/audit.ts';
import {
  AssignmentResponseItemSchema,
  ImportMappingsResponseSchema,
  ListAssignmentsResponseSchema,
} from '#shared/http/schemas/ownership.ts';
import {
  SyncHealthResponseSchema,
  type SyncStatsResponse,
  SyncStatsResponseSchema,
  TriggerSyncResponseSchema,
} from '#shared/http/schemas/sync.ts';
import { type ListVmsResponse, ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import { type ApiClient, createApiClient } from './api-client.ts';
import { type Connection, resolveConnection, resolveDataDir } from './connection.ts';
import { formatAudit, formatHealth, formatProgressBar, formatStats, formatVms } from './format.ts';
import { watchLive } from './watch.ts';

/**
 * The admin CLI (`npx pve-inventory …`). Every command goes through the API except `token` (local
 * issuer) and the parts that need the tables themselves (`migrate` creates them locally;
 * `import-legacy` writes through the ownership repository).
 */

/** Where the CLI writes, and what it knows of its terminal (injected by tests). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** draw the progress bar in place */
  readonly isTTY: boolean;
}

/** A usage mistake: exit code 2 with the usage hint. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Exit code of `health` when the sync is unhealthy (scripts and monitors can test it). */
export const UNHEALTHY_EXIT_CODE = 3;

export const USAGE = `Usage: pve-inventory <command> [options]

Commands:
  migrate [--cluster ID] [--timeout D]        create the tables (local), run a full sync with a progress bar, print statistics
  sync --full|--quick [--cluster ID] [--wait] start a sync now (coalesced with a running one)
  stats                                       sync statistics (per cluster)
  health                                      sync health (exit code ${UNHEALTHY_EXIT_CODE} when unhealthy)
  vms [--stale] [--errors] [--cluster ID]     VMs, e.g. the stale or failing ones
  import-mappings FILE [--cluster ID] [--dry-run]
                                              import the original portal's mappings.json (all or nothing)
  import-legacy APP_DB [--cluster ID] [--dry-run]
                                              import classes, memberships and VM assignments from the original portal's SQLite database
  assign USER CLUSTER VMID [--remove]         assign a VM to a user (or remove the assignment)
  token USER [--admin|--teacher] [--ttl D]    print a token of the local issuer (local stack only; --ttl 30m, 12h, 7d; default 1d)
  audit [--user U] [--vm CLUSTER:VMID] [--class ID] [--since T] [--until T] [--limit N]
                                              the audit trail of state-changing requests, newest first (T: ISO time or a duration ago, e.g. 2h)
  watch [--cluster ID] [--live URL] [--for D] [--verbose]
                                              print VM changes as they are pushed (live updates; one line per changed VM, one
                                              per CPU/memory frame with how many VMs moved, --verbose: with their figures;
                                              --json: one message per line)

Options:
  --json              machine-readable output (read commands)
  --api URL           a deployed API (default: the local stack, http://localhost:8080); env PVE_INVENTORY_API
  --live URL          the live updates' WebSocket URL for watch (default: the local stack's, or the API's /ws); env PVE_INVENTORY_LIVE
  --token TOKEN       ID token of an admin for --api; env PVE_INVENTORY_TOKEN (for a local stack, including
                      --api http://localhost:N, a token is signed for you with its data folder's key)

Exit codes: 0 done, 1 failed, 2 usage mistake, ${UNHEALTHY_EXIT_CODE} unhealthy (health)
  --data-dir DIR      the local stack's data folder (default .data); env PVE_INVENTORY_DATA_DIR
  -h, --help          this help`;

const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  migrate: ['cluster', 'timeout', 'json'],
  sync: ['full', 'quick', 'cluster', 'wait', 'timeout', 'json'],
  stats: ['json'],
  health: ['json'],
  vms: ['stale', 'errors', 'cluster', 'json'],
  'import-mappings': ['cluster', 'dry-run', 'json'],
  'import-legacy': ['cluster', 'dry-run', 'json'],
  assign: ['remove', 'json'],
  token: ['admin', 'teacher', 'ttl'],
  audit: ['user', 'vm', 'class', 'since', 'until', 'limit', 'json'],
  watch: ['cluster', 'live', 'for', 'verbose', 'json'],
};
const GLOBAL_FLAGS = ['api', 'token', 'data-dir', 'help'];

const ARG_OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  full: { type: 'boolean' },
  quick: { type: 'boolean' },
  cluster: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  stale: { type: 'boolean' },
  errors: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  remove: { type: 'boolean' },
  admin: { type: 'boolean' },
  teacher: { type: 'boolean' },
  ttl: { type: 'string' },
  user: { type: 'string' },
  vm: { type: 'string' },
  class: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  live: { type: 'string' },
  for: { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof ARG_OPTIONS; allowPositionals: true }>>['values'];

interface Context {
  readonly io: CliIo;
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly json: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function print(context: Context, value: unknown, text: () => string): void {
  context.io.stdout(`${context.json ? JSON.stringify(value, null, 2) : text()}\n`);
}

async function connect(context: Context): Promise<{ connection: Connection; api: ApiClient }> {
  const connection = await resolveConnection({
    ...(context.values.api === undefined ? {} : { api: context.values.api }),
    ...(context.values.token === undefined ? {} : { token: context.values.token }),
    ...(context.values['data-dir'] === undefined ? {} : { dataDir: context.values['data-dir'] }),
    env: context.io.env,
  });
  return { connection, api: createApiClient(connection.apiUrl, connection.token) };
}

function parseAnswer<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new Error(`unexpected answer from ${what}: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

async function getStats(api: ApiClient): Promise<SyncStatsResponse> {
  return parseAnswer(
    SyncStatsResponseSchema,
    (await api.request({ path: '/api/sync/stats' })).body,
    'GET /api/sync/stats',
  );
}

function clusterOption(context: Context): string | undefined {
  const cluster = context.values.cluster;
  if (cluster !== undefined && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(cluster)) {
    throw new CliUsageError(`--cluster: "${cluster}" is not a cluster id`);
  }
  return cluster;
}

/** Table access for the commands that need it: the local stack's DynamoDB, or the tables named in the environment. */
function tablesFor(
  connection: Connection,
  env: CliIo['env'],
): { endpoint: string | undefined; names: TableNames } {
  if (connection.local) {
    if (connection.stack === null) {
      throw new Error(
        `the local stack is not running (no live state in ${connection.dataDir}): start it with npm start`,
      );
    }
    return { endpoint: connection.stack.dynamodbEndpoint, names: connection.stack.tables };
  }
  // A deployed stack: the tables named in the environment, with the default AWS credentials.
  return { endpoint: undefined, names: tableNamesFromEnv(env) };
}

// --------------------------------------------------------------------------------------------
// Commands

async function migrate(context: Context): Promise<number> {
  const { connection, api } = await connect(context);
  const cluster = clusterOption(context);
  const timeoutMs =
    context.values.timeout === undefined ? 300_000 : parseDuration('--timeout', context.values.timeout);
  const note = (line: string) => {
    if (!context.json) context.io.stderr(`${line}\n`);
  };
  if (connection.local && connection.stack !== null) {
    const client = new DynamoDBClient(localClientConfig(connection.stack.dynamodbEndpoint));
    try {
      await createTables(client, connection.stack.tables);
    } finally {
      client.destroy();
    }
    note(`tables ready: ${Object.values(connection.stack.tables).join(', ')}`);
  } else {
    note('tables: created by the CDK deployment (stack PveInventoryData)');
  }
  const before = await getStats(api);
  const startedAt = Date.now();
  const trigger = parseAnswer(
    TriggerSyncResponseSchema,
    (
      await api.request({
        method: 'POST',
        path: '/api/sync/trigger',
        body: cluster === undefined ? { mode: 'full' } : { mode: 'full', cluster_id: cluster },
      })
    ).body,
    'POST /api/sync/trigger',
  );
  note(`full sync ${trigger.started ? 'started' : 'already running, joined'}: ${trigger.execution_name}`);
  // A joined execution started before this command: accept results from shortly before it.
  const threshold = Math.floor((trigger.started ? startedAt : startedAt - 300_000) / 1000) - 1;
  const expected = new Set(
    cluster !== undefined
      ? [cluster]
      : (connection.stack?.clusters ?? before.clusters.map((c) => c.cluster_id)),
  );
  const errorsBefore = new Map(before.clusters.map((c) => [c.cluster_id, c.consecutive_errors]));
  let stats = before;
  let lastDrawn = '';
  for (;;) {
    stats = await getStats(api);
    for (const c of stats.clusters) if (cluster === undefined) expected.add(c.cluster_id);
    const done = stats.clusters.filter(
      (c) =>
        expected.has(c.cluster_id) &&
        ((c.last_full_sync !== null && c.last_full_sync >= threshold) ||
          c.consecutive_errors > (errorsBefore.get(c.cluster_id) ?? 0)),
    );
    const bar = formatProgressBar(done.length, Math.max(expected.size, 1), 'clusters synced');
    if (!context.json) {
      if (context.io.isTTY) context.io.stderr(`\r${bar}`);
      else if (bar !== lastDrawn) context.io.stderr(`${bar}\n`);
      lastDrawn = bar;
    }
    if (expected.size > 0 && done.length >= expected.size) break;
    if (Date.now() - startedAt > timeoutMs) {
      if (context.io.isTTY && !context.json) context.io.stderr('\n');
      throw new Error(
        `the full sync did not finish within ${Math.round(timeoutMs / 1000)} s (see: pve-inventory stats)`,
      );
    }
    await sleep(500);
  }
  if (context.io.isTTY && !context.json) context.io.stderr('\n');
  print(context, stats, () => formatStats(stats));
  const failed = stats.clusters.filter((c) => expected.has(c.cluster_id) && c.consecutive_errors > 0);
  if (failed.length > 0) {
    context.io.stderr(
      `error: the sync failed for ${failed.map((c) => c.cluster_id).join(', ')} (see: pve-inventory health)\n`,
    );
    return 1;
  }
  return 0;
}

async function sync(context: Context): Promise<number> {
  const { full, quick, wait } = context.values;
  if (full === quick) throw new CliUsageError('sync: give exactly one of --full or --quick');
  const mode = full ? 'full' : 'quick';
  const cluster = clusterOption(context);
  const { api } = await connect(context);
  const startedAt = Date.now();
  const answer = parseAnswer(
    TriggerSyncResponseSchema,
    (
      await api.request({
        method: 'POST',
        path: '/api/sync/trigger',
        body: cluster === undefined ? { mode } : { mode, cluster_id: cluster },
      })
    ).body,
    'POST /api/sync/trigger',
  );
  if (wait) {
    const timeoutMs =
      context.values.timeout === undefined ? 300_000 : parseDuration('--timeout', context.values.timeout);
    const threshold = Math.floor(startedAt / 1000) - 1;
    for (;;) {
      const stats = await getStats(api);
      const scope = stats.clusters.filter((c) => cluster === undefined || c.cluster_id === cluster);
      const at = (c: (typeof scope)[number]) => (mode === 'full' ? c.last_full_sync : c.last_quick_sync);
      if (scope.length > 0 && scope.every((c) => (at(c) ?? 0) >= threshold || c.consecutive_errors > 0))
        break;
      if (Date.now() - startedAt > timeoutMs) throw new Error(`the ${mode} sync did not finish in time`);
      await sleep(500);
    }
  }
  print(context, answer, () =>
    [
      `${mode} sync ${answer.started ? 'started' : 'already running (joined)'}: ${answer.execution_name}${wait ? ', finished' : ''}`,
      ...answer.clusters.map(
        (c) => `  ${c.cluster_id}: ${c.outcome}${c.reason === null ? '' : ` (${c.reason})`}`,
      ),
    ].join('\n'),
  );
  return 0;
}

async function stats(context: Context): Promise<number> {
  const { api } = await connect(context);
  const answer = await getStats(api);
  print(context, answer, () => formatStats(answer));
  return 0;
}

async function health(context: Context): Promise<number> {
  const { api } = await connect(context);
  const answer = parseAnswer(
    SyncHealthResponseSchema,
    (await api.request({ path: '/api/sync/health', accept: [503] })).body,
    'GET /api/sync/health',
  );
  // The public answer names no error; an admin's statistics add each cluster's last error.
  const adminStats = await getStats(api).catch(() => undefined);
  print(context, adminStats === undefined ? answer : { ...answer, clusters: adminStats.clusters }, () =>
    formatHealth(answer, adminStats),
  );
  return answer.healthy ? 0 : UNHEALTHY_EXIT_CODE;
}

/** An ISO time, or a duration ago (`2h`, `30m`, `7d`). */
function timeOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isNaN(Date.parse(value)) && /\d{4}-\d{2}-\d{2}/.test(value))
    return new Date(value).toISOString();
  return new Date(Date.now() - parseDuration(`--${name}`, value)).toISOString();
}

async function audit(context: Context): Promise<number> {
  const { api } = await connect(context);
  const vm = context.values.vm;
  const separator = vm === undefined ? -1 : vm.lastIndexOf(':');
  if (vm !== undefined && separator <= 0) throw new CliUsageError('audit: --vm CLUSTER:VMID');
  const limit = context.values.limit === undefined ? 100 : Number(context.values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CliUsageError('audit: --limit must be a positive whole number');
  const query = {
    user: context.values.user,
    cluster: vm === undefined ? undefined : vm.slice(0, separator),
    vmid: vm === undefined ? undefined : vm.slice(separator + 1),
    class: context.values.class,
    from: timeOption('since', context.values.since),
    to: timeOption('until', context.values.until),
  };
  const entries: ListAuditResponse['entries'] = [];
  let cursor: string | null = null;
  do {
    const page: ListAuditResponse = parseAnswer(
      ListAuditResponseSchema,
      (
        await api.request({
          path: '/api/audit',
          query: { ...query, limit: Math.min(limit - entries.length, 1000), ...(cursor ? { cursor } : {}) },
        })
      ).body,
      'GET /api/audit',
    );
    entries.push(...page.entries);
    cursor = page.next_cursor;
  } while (cursor !== null && entries.length < limit);
  print(
    context,
    { entries, count: entries.length },
    () => `${formatAudit(entries)}\n${entries.length} entries`,
  );
  return 0;
}

async function vms(context: Context): Promise<number> {
  const { api } = await connect(context);
  const cluster = clusterOption(context);
  const all: ApiVm[] = [];
  let cursor: string | null = null;
  do {
    const page: ListVmsResponse = parseAnswer(
      ListVmsResponseSchema,
      (
        await api.request({
          path: '/api/vms',
          query: { cluster, limit: 2000, ...(cursor ? { cursor } : {}) },
        })
      ).body,
      'GET /api/vms',
    );
    all.push(...page.vms);
    cursor = page.next_cursor;
  } while (cursor !== null);
  const selected = all.filter(
    (vm) => (!context.values.stale || vm.stale) && (!context.values.errors || vm.sync_error !== null),
  );
  // One summary line, also when nothing matched: "0 stale VMs of 100".
  const kinds = [context.values.stale ? 'stale' : null, context.values.errors ? 'failing' : null].filter(
    (kind) => kind !== null,
  );
  const summary = `${selected.length} ${kinds.length > 0 ? `${kinds.join(', ')} ` : ''}VMs${
    selected.length === all.length ? '' : ` of ${all.length}`
  }`;
  print(context, { vms: selected, count: selected.length }, () =>
    selected.length === 0 ? summary : `${formatVms(selected)}\n${summary}`,
  );
  return 0;
}

async function importMappings(context: Context): Promise<number> {
  const file = context.positionals[0];
  if (file === undefined) throw new CliUsageError('import-mappings: give the mappings.json file');
  const cluster = clusterOption(context);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof SyntaxError ? `not valid JSON (${error.message})` : 'cannot read the file';
    throw new Error(`${file}: ${reason}`);
  }
  const { api } = await connect(context);
  const answer = parseAnswer(
    ImportMappingsResponseSchema,
    (
      await api.request({
        method: 'POST',
        path: '/api/assignments/import',
        query: { cluster, dry_run: context.values['dry-run'] ? 'true' : undefined },
        body: json,
      })
    ).body,
    'POST /api/assignments/import',
  );
  print(
    context,
    answer,
    () =>
      `${answer.dry_run ? 'would import' : 'imported'} ${answer.assignments} assignments of ${answer.users} users (${answer.created} new, ${answer.unchanged} unchanged)`,
  );
  return 0;
}

async function importLegacy(context: Context): Promise<number> {
  const file = context.positionals[0];
  if (file === undefined) throw new CliUsageError('import-legacy: give the SQLite database file (app.db)');
  const cluster = clusterOption(context);
  const data = await readLegacyDatabaseFile(file);
  const planned = planLegacyImport(data, cluster === undefined ? {} : { cluster });
  const dryRun = context.values['dry-run'] === true;
  const { connection } = await connect(context);
  const tables = tablesFor(connection, context.io.env);
  const documentClient = createDocumentClient(
    tables.endpoint === undefined ? {} : localClientConfig(tables.endpoint),
  );
  try {
    const repositories = createDynamoDbRepositories(documentClient, tables.names);
    // Only VMs the inventory holds are assigned (as `assign` and `import-mappings` insist).
    const existing = await repositories.inventory.getVms(plannedVmKeys(planned));
    const known = new Set(existing.map((vm) => `${vm.cluster_id}:${vm.vmid}`));
    const plan = withoutUnknownVms(planned, (key) => known.has(`${key.cluster_id}:${key.vmid}`));
    if (dryRun) {
      print(context, { dry_run: true, plan }, () => `dry run — nothing written\n${formatLegacyPlan(plan)}`);
      return 0;
    }
    const result = await applyLegacyImport(repositories.ownership, plan, Date.now());
    print(
      context,
      { dry_run: false, plan, result },
      () =>
        `${formatLegacyPlan(plan)}\nimported: ${result.classes} classes, ${result.members} members, ${result.classVms} class VMs, ${result.assignments} assignments`,
    );
  } finally {
    documentClient.destroy();
  }
  return 0;
}

async function assign(context: Context): Promise<number> {
  const [username, cluster, vmidText] = context.positionals;
  if (
    username === undefined ||
    cluster === undefined ||
    vmidText === undefined ||
    context.positionals.length > 3
  ) {
    throw new CliUsageError('assign: give USER CLUSTER VMID');
  }
  if (!/^\d{3,9}$/.test(vmidText)) throw new CliUsageError(`assign: "${vmidText}" is not a VMID`);
  const vmid = Number(vmidText);
  const { api } = await connect(context);
  if (context.values.remove) {
    // DELETE is idempotent (204 when absent too): look first, so a typo is not reported as removed.
    const existing = parseAnswer(
      ListAssignmentsResponseSchema,
      (await api.request({ path: '/api/assignments', query: { username, cluster, vmid } })).body,
      'GET /api/assignments',
    ).assignments[0];
    if (existing === undefined) {
      throw new Error(`no assignment of ${cluster}:${vmid} to ${username}: nothing removed`);
    }
    await api.request({ method: 'DELETE', path: '/api/assignments', query: { username, cluster, vmid } });
    print(
      context,
      { removed: true, username: existing.username, cluster_id: existing.cluster_id, vmid },
      () => `removed: ${existing.username} ✗ ${existing.cluster_id}:${vmid}`,
    );
  } else {
    const answer = parseAnswer(
      AssignmentResponseItemSchema,
      (
        await api.request({
          method: 'PUT',
          path: '/api/assignments',
          body: { username, cluster_id: cluster, vmid },
        })
      ).body,
      'PUT /api/assignments',
    );
    // The API's normalized name (lower case, realm suffix dropped) is the one that counts.
    print(context, answer, () => `assigned: ${answer.username} ← ${answer.cluster_id}:${answer.vmid}`);
  }
  return 0;
}

async function token(context: Context): Promise<number> {
  const [username] = context.positionals;
  if (username === undefined || context.positionals.length > 1) throw new CliUsageError('token: give USER');
  if (context.values.admin && context.values.teacher)
    throw new CliUsageError('token: --admin or --teacher, not both');
  if (context.values.api !== undefined)
    throw new CliUsageError('token: only for the local stack (its local issuer)');
  const ttlMs = context.values.ttl === undefined ? 86_400_000 : parseTtl(context.values.ttl);
  const dataDir = resolveDataDir({
    ...(context.values['data-dir'] === undefined ? {} : { dataDir: context.values['data-dir'] }),
    env: context.io.env,
  });
  const issuer = await createLocalIssuer({ keyFile: dataPaths(dataDir).issuerKey });
  const stack = await readStackState(dataPaths(dataDir).stackState);
  const identity = identityOptionsFromEnv(context.io.env);
  const groupNames = stack?.groups ?? { admin: identity.adminGroup, teacher: identity.teacherGroup };
  const groups = context.values.admin
    ? [groupNames.admin]
    : context.values.teacher
      ? [groupNames.teacher]
      : [];
  context.io.stdout(
    `${await issuer.issueToken(username, { groups, expiresIn: Math.round(ttlMs / 1000) })}\n`,
  );
  return 0;
}

/** `--ttl`: `90s`, `30m`, `12h`, `7d` (a bare number is seconds), at most 365 days. */
export function parseTtl(value: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(value.trim());
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = match === null ? Number.NaN : Number(match[1]) * unit[(match[2] ?? 's') as keyof typeof unit];
  if (!(ms >= 60_000 && ms <= 365 * 86_400_000))
    throw new CliUsageError(`--ttl: "${value}" is not a lifetime between 1m and 365d (e.g. 30m, 12h, 7d)`);
  return ms;
}

/** `watch`: the live updates of what the token's user sees, as they arrive. */
async function watch(context: Context): Promise<number> {
  const cluster = clusterOption(context);
  const { connection } = await connect(context);
  const url =
    context.values.live ??
    context.io.env.PVE_INVENTORY_LIVE ??
    connection.stack?.liveUrl ??
    `${connection.apiUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`;
  if (!/^wss?:\/\//.test(url)) throw new CliUsageError(`--live: "${url}" is not a ws:// or wss:// URL`);
  return watchLive({
    url,
    token: connection.token,
    cluster,
    json: context.json,
    verbose: context.values.verbose === true,
    forMs: context.values.for === undefined ? undefined : parseDuration('--for', context.values.for),
    stdout: (text) => context.io.stdout(text),
    stderr: (text) => context.io.stderr(text),
  });
}

const COMMANDS: Readonly<Record<string, (context: Context) => Promise<number>>> = {
  migrate,
  sync,
  stats,
  health,
  audit,
  vms,
  'import-mappings': importMappings,
  'import-legacy': importLegacy,
  assign,
  token,
  watch,
};

const POSITIONALS: Readonly<Record<string, number>> = {
  'import-mappings': 1,
  'import-legacy': 1,
  assign: 3,
  token: 1,
};

/** Runs the CLI; resolves with the exit code. Errors are one line on stderr. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let context: Context;
  let command: string | undefined;
  try {
    const parsed = parseArgs({ args: [...argv], options: ARG_OPTIONS, allowPositionals: true, strict: true });
    [command] = parsed.positionals;
    if (parsed.values.help || command === undefined || command === 'help') {
      io.stdout(`${USAGE}\n`);
      return command === undefined && !parsed.values.help ? 2 : 0;
    }
    const allowed = COMMAND_FLAGS[command];
    if (allowed === undefined) throw new CliUsageError(`unknown command "${command}"`);
    for (const [name, value] of Object.entries(parsed.values)) {
      if (value !== undefined && !allowed.includes(name) && !GLOBAL_FLAGS.includes(name)) {
        throw new CliUsageError(`${command}: unknown option --${name}`);
      }
    }
    const positionals = parsed.positionals.slice(1);
    if (positionals.length > (POSITIONALS[command] ?? 0)) {
      throw new CliUsageError(`${command}: unexpected argument "${positionals[POSITIONALS[command] ?? 0]}"`);
    }
    context = { io, values: parsed.values, positionals, json: parsed.values.json === true };
  } catch (error) {
    io.stderr(
      `error: ${error instanceof Error ? error.message : String(error)}\n(pve-inventory --help shows the commands)\n`,
    );
    return 2;
  }
  const run = COMMANDS[command];
  if (run === undefined) return 2;
  try {
    return await run(context);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`error: ${message.split('\n')[0]}\n`);
    return error instanceof CliUsageError || error instanceof InvalidDurationError ? 2 : 1;
  }
}

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single definition of pve-inventory's DynamoDB tables (contract 3; the audit trail added): key schema, GSIs and
 * TTL attribute. The CDK data stack and the local table creation (DynamoDB Local) both build from
 * it, and the repositories build their keys with the helpers below. See README "Data model".
 */

export type KeyType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export type ProjectionDesign =
  | { readonly type: 'ALL' }
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly nonKeyAttributes: readonly string[] };

export interface IndexDesign {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection: ProjectionDesign;
  /** the access pattern it serves (documentation, also shown in the README) */
  readonly serves: string;
}

export interface TableDesign {
  /** construct id in CDK and base of the local table name */
  readonly id: 'VmInventory' | 'SyncState' | 'Ownership' | 'AuditTrail' | 'LiveConnections';
  /** environment variable that carries the physical table name into the Lambdas */
  readonly envVar: 'INVENTORY_TABLE' | 'SYNC_STATE_TABLE' | 'OWNERSHIP_TABLE' | 'AUDIT_TABLE' | 'LIVE_TABLE';
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDesign[];
  /** TTL attribute (epoch seconds), only for cleanup, never for correctness */
  readonly ttlAttribute?: string;
  /**
   * A DynamoDB stream with old and new images: the live updates read every change of the table from
   * it (so no writer has to remember to publish).
   */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

/** GSI of VmInventory: VMs of a cluster with a `sync_error` (sparse). */
export const INVENTORY_ERRORS_INDEX = 'ByErrorCluster';
/** GSI of Ownership: assignments and class links of one VM. */
export const OWNERSHIP_BY_VM_INDEX = 'ByVm';
/** GSI of Ownership: classes a user is a member of. */
export const OWNERSHIP_BY_MEMBER_INDEX = 'ByMember';

/** One item per guest, keyed by (cluster_id, vmid). */
export const INVENTORY_TABLE: TableDesign = {
  id: 'VmInventory',
  envVar: 'INVENTORY_TABLE',
  partitionKey: { name: 'cluster_id', type: 'S' },
  sortKey: { name: 'vmid', type: 'N' },
  globalSecondaryIndexes: [
    {
      indexName: INVENTORY_ERRORS_INDEX,
      // `error_cluster_id` is set (= cluster_id) only while the VM has a sync_error: a sparse index.
      partitionKey: { name: 'error_cluster_id', type: 'S' },
      sortKey: { name: 'vmid', type: 'N' },
      projection: {
        type: 'INCLUDE',
        nonKeyAttributes: ['name', 'node', 'status', 'sync_error', 'observed_at'],
      },
      serves: "troubleshooting: a cluster's VMs whose last sync recorded an error",
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
};

/** Per-cluster sync state, leases, runtime stats chunks, coalescing records, global run stats, bulk jobs. */
export const SYNC_STATE_TABLE: TableDesign = {
  id: 'SyncState',
  envVar: 'SYNC_STATE_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  ttlAttribute: 'expires_at',
  stream: 'NEW_AND_OLD_IMAGES',
};

/** Assignments, classes and class schedules. */
export const OWNERSHIP_TABLE: TableDesign = {
  id: 'Ownership',
  envVar: 'OWNERSHIP_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: OWNERSHIP_BY_VM_INDEX,
      partitionKey: { name: 'vm_key', type: 'S' },
      sortKey: { name: 'pk', type: 'S' },
      projection: { type: 'ALL' },
      serves: 'who owns VM (cluster_id, vmid), which classes hold it; suspend them when it is removed',
    },
    {
      indexName: OWNERSHIP_BY_MEMBER_INDEX,
      partitionKey: { name: 'member', type: 'S' },
      sortKey: { name: 'pk', type: 'S' },
      projection: { type: 'ALL' },
      serves: 'which classes user X is in (as teacher or student)',
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
};

/** GSI of AuditTrail: entries of one user (the actor), newest first. */
export const AUDIT_BY_ACTOR_INDEX = 'AuditByActor';
/** GSI of AuditTrail: entries about one VM. */
export const AUDIT_BY_VM_INDEX = 'AuditByVm';
/** GSI of AuditTrail: entries about one class. */
export const AUDIT_BY_CLASS_INDEX = 'AuditByClass';

/**
 * The audit trail: one item per state-changing request, in monthly partitions (`MONTH#2026-12`)
 * sorted by time (`<ISO time>#<request id>`), expiring after the retention (TTL `expires_at`).
 */
export const AUDIT_TABLE: TableDesign = {
  id: 'AuditTrail',
  envVar: 'AUDIT_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: AUDIT_BY_ACTOR_INDEX,
      partitionKey: { name: 'actor', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      projection: { type: 'ALL' },
      serves: 'audit: what user X did, in a time range',
    },
    {
      indexName: AUDIT_BY_VM_INDEX,
      partitionKey: { name: 'vm_key', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      projection: { type: 'ALL' },
      serves: 'audit: what was done to VM (cluster_id, vmid), in a time range',
    },
    {
      indexName: AUDIT_BY_CLASS_INDEX,
      partitionKey: { name: 'class_id', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      projection: { type: 'ALL' },
      serves: 'audit: what was done to class X, in a time range',
    },
  ],
  ttlAttribute: 'expires_at',
};

/**
 * Live updates: the open WebSocket connections (one partition, so the fan-out lists them with one
 * Query), the per-cluster version counters and a short log of recent deltas per cluster for resume.
 * Connections and log entries expire by TTL `expires_at` (cleanup only: the fan-out and the resume
 * check the times themselves).
 */
export const LIVE_TABLE: TableDesign = {
  id: 'LiveConnections',
  envVar: 'LIVE_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  ttlAttribute: 'expires_at',
};

export const TABLE_DESIGNS: readonly TableDesign[] = [
  INVENTORY_TABLE,
  SYNC_STATE_TABLE,
  OWNERSHIP_TABLE,
  AUDIT_TABLE,
  LIVE_TABLE,
];

/** Physical names of the data tables (from the environment in Lambdas, generated in tests). */
export interface TableNames {
  inventory: string;
  syncState: string;
  ownership: string;
}

/** Every table's physical name, the audit trail and live connections included (the local stack and tests create them all). */
export interface AllTableNames extends TableNames {
  audit: string;
  live: string;
}

/** CreateTable input for a design (on-demand billing, as deployed). Used for DynamoDB Local. */
export function toCreateTableInput(design: TableDesign, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, KeyType>();
  const add = (key: KeyAttribute | undefined) => {
    if (key) attributes.set(key.name, key.type);
  };
  add(design.partitionKey);
  add(design.sortKey);
  for (const index of design.globalSecondaryIndexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    ...(design.stream === undefined
      ? {}
      : { StreamSpecification: { StreamEnabled: true, StreamViewType: design.stream } }),
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: design.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: design.sortKey.name, KeyType: 'RANGE' },
    ],
    ...(design.globalSecondaryIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
              ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
            ],
            Projection:
              index.projection.type === 'INCLUDE'
                ? {
                    ProjectionType: 'INCLUDE' as const,
                    NonKeyAttributes: [...index.projection.nonKeyAttributes],
                  }
                : { ProjectionType: index.projection.type },
          })),
        }
      : {}),
  };
}

/** Keys of the SyncState table. */
export const syncStateKeys = {
  /** All cluster states live in one partition, so listing them is one Query (a handful of items). */
  clusterStatePartition: 'CLUSTERS',
  clusterState: (clusterId: string) => ({ pk: 'CLUSTERS', sk: clusterId }),
  /**
   * The ownership version (changes on every ownership write) beside the cluster states, so that one
   * Query reads every version a list depends on. `~` cannot start a cluster id.
   */
  ownershipVersion: { pk: 'CLUSTERS', sk: '~OWNERSHIP' },
  isVersionSortKey: (sk: string) => sk.startsWith('~'),
  clusterPartition: (clusterId: string) => `CLUSTER#${clusterId}`,
  /** A cluster's runtime stats, packed (shared/domain/runtime-stats.ts): chunk 0 holds small clusters whole. */
  runtimeSet: (clusterId: string, chunk: number) => ({
    pk: `CLUSTER#${clusterId}`,
    sk: `RUNTIMESET#${String(chunk).padStart(3, '0')}`,
  }),
  runtimeSetPrefix: 'RUNTIMESET#',
  /** Runtime items of the previous per-node format (deleted by the first write of a set). */
  runtimePrefix: (node?: string) => (node === undefined ? 'RUNTIME#' : `RUNTIME#${node}#`),
  runtime: (clusterId: string, node: string, chunk: number) => ({
    pk: `CLUSTER#${clusterId}`,
    sk: `RUNTIME#${node}#${String(chunk).padStart(3, '0')}`,
  }),
  lease: (clusterId: string, kind: string) => ({ pk: `CLUSTER#${clusterId}`, sk: `LEASE#${kind}` }),
  globalRun: (mode: string) => ({ pk: 'GLOBAL', sk: `RUN#${mode}` }),
  /** A bulk action's record, read by its status route (expires after a day). */
  bulkJob: (bulkId: string) => ({ pk: `BULK#${bulkId}`, sk: 'JOB' }),
  /** Admin alert state of each cluster (`healthy`/`unsynced`), one partition: one Query lists them. */
  alertStatePartition: 'ALERTS',
  alertState: (clusterId: string) => ({ pk: 'ALERTS', sk: clusterId }),
} as const;

/**
 * Keys of the metrics history, kept in the SyncState table (TTL `expires_at`): one partition per
 * cluster and resolution, sorted by bucket time then node, so one Query returns every node's
 * buckets of a time range (a VM that migrated is found on whichever node it ran).
 */
export const historyKeys = {
  partition: (clusterId: string, resolution: '1m' | '15m') => `HISTORY#${clusterId}#${resolution}`,
  /** A cluster's item of one bucket (every node in it). */
  bucket: (clusterId: string, resolution: '1m' | '15m', t: number) => ({
    pk: `HISTORY#${clusterId}#${resolution}`,
    sk: new Date(t).toISOString(),
  }),
  /** A node's item of one bucket, as written before the packed format (still read). */
  legacyBucket: (clusterId: string, resolution: '1m' | '15m', t: number, node: string) => ({
    pk: `HISTORY#${clusterId}#${resolution}`,
    sk: `${new Date(t).toISOString()}#${node}`,
  }),
  /** Sort-key bounds of the buckets that start in [fromMs, toMs]. */
  range: (fromMs: number, toMs: number) => ({
    from: new Date(fromMs).toISOString(),
    // '~' sorts after every character of a node name (a legacy item's sort key ends with one).
    to: `${new Date(toMs).toISOString()}#~`,
  }),
} as const;

/** Keys of the Ownership table. */
export const ownershipKeys = {
  userPartition: (username: string) => `USER#${username}`,
  assignmentSortKey: (clusterId: string, vmid: number, source: string, classId: string | null) =>
    `ASSIGN#${clusterId}#${vmid}#${source}${classId ? `#${classId}` : ''}`,
  vmKey: (clusterId: string, vmid: number) => `${clusterId}#${vmid}`,
  /** Class records live in one partition, so listing classes is one Query. */
  classesPartition: 'CLASSES',
  classPartition: (classId: string) => `CLASS#${classId}`,
  memberSortKey: (username: string) => `MEMBER#${username}`,
  classVmSortKey: (clusterId: string, vmid: number) => `VM#${clusterId}#${vmid}`,
  /** Class schedules live in one partition, so the scheduled function lists them in one Query. */
  schedulesPartition: 'SCHEDULES',
  schedule: (classId: string) => ({ pk: 'SCHEDULES', sk: classId }),
} as const;

/** Keys of the LiveConnections table. */
export const liveKeys = {
  /** All open connections in one partition: the fan-out reads them with one Query. */
  connectionsPartition: 'CONNECTIONS',
  connection: (connectionId: string) => ({ pk: 'CONNECTIONS', sk: connectionId }),
  /** All per-cluster version counters in one partition. */
  versionsPartition: 'VERSIONS',
  version: (clusterId: string) => ({ pk: 'VERSIONS', sk: clusterId }),
  logPartition: (clusterId: string) => `LOG#${clusterId}`,
  /** Zero-padded so that the sort key orders like the number. */
  logSortKey: (version: number) => String(version).padStart(12, '0'),
} as const;

/** Keys of the AuditTrail table. */
export const auditKeys = {
  /** The month partition of a time: `MONTH#2026-12`. */
  monthPartition: (epochMs: number) => `MONTH#${new Date(epochMs).toISOString().slice(0, 7)}`,
  /** Sort key: ISO time then request id, so entries sort by time. */
  sortKey: (epochMs: number, requestId: string) => `${new Date(epochMs).toISOString()}#${requestId}`,
} as const;

import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Tracing } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { cadenceEnvironment, type SyncCadence } from '#shared/config/cadence.ts';
import {
  INVENTORY_TABLE,
  OWNERSHIP_BY_VM_INDEX,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
} from '#shared/store/table-design.ts';
import { SYNC_METRICS_NAMESPACE, SYNC_SERVICE_NAME } from '#shared/sync/metrics-names.ts';
import { PveFunction, type TableGrant } from './pve-function.ts';
import { QUICK_SYNC_MAX_CONCURRENCY } from './sync-state-machines.ts';
import type { SyncVpcNetwork } from './vpc-network.ts';

/**
 * The DynamoDB actions the sync-cluster function calls (test/integration/infra/dynamodb-grants.test.ts
 * checks them against real runs): inventory reads by cluster and guarded writes; the sync state's
 * cluster states, leases and runtime sets; removing a guest suspends its assignments (a reused
 * VMID must not reach the old owner) through the by-VM index. Nothing scans.
 */
export const SYNC_CLUSTER_TABLE_ACCESS = {
  inventory: { actions: ['BatchWriteItem', 'DeleteItem', 'PutItem', 'Query', 'UpdateItem'] },
  syncState: { actions: ['BatchWriteItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'] },
  ownership: { actions: ['UpdateItem'], queriedIndexes: [OWNERSHIP_BY_VM_INDEX] },
} as const satisfies Readonly<Record<string, TableGrant>>;

/**
 * record-run writes the run's global statistics, reads the cluster states and alert states (one
 * Query each) and changes an alert state by a conditional put. list-clusters reads no table at all.
 */
export const RECORD_RUN_TABLE_ACCESS = {
  syncState: { actions: ['PutItem', 'Query'] },
} as const satisfies Readonly<Record<string, TableGrant>>;

/** Properties of {@link SyncFunctions}. */
export interface SyncFunctionsProps {
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  /** The network of the Proxmox-facing function. */
  readonly network: SyncVpcNetwork;
  /** `CLUSTERS_CONFIG`: the clusters JSON (no secrets in it). */
  readonly clustersJson: string;
  /** Secrets Manager names or ARNs of the clusters' API tokens. */
  readonly secretRefs: readonly string[];
  /** The sync cadence: the sync function sizes its config rotation with it, its timeout stays below the full period. */
  readonly cadence: SyncCadence;
  /** X-Ray mode of the sync functions. @default Tracing.ACTIVE */
  readonly tracing?: Tracing;
  /** Reserved concurrency of sync-cluster (see {@link syncClusterReservedConcurrency}); undefined: none. */
  readonly syncClusterReservedConcurrency?: number;
  /** Customer-managed KMS key of the token secrets: sync-cluster may decrypt through Secrets Manager only. */
  readonly tokenSecretKmsKeyArn?: string;
}

/**
 * The sync-cluster invocations the design runs at once at most: the full-sync Map's
 * `min(mapConcurrency, clusters)`, the quick-sync Map's one iteration per cluster (up to 40), and
 * one refresh per cluster from the API (coalesced per cluster); full and quick hold separate leases,
 * so they overlap. Reserved for the function, this both guarantees the sync its capacity and caps
 * it, so a runaway schedule cannot starve the API.
 */
export function syncClusterReservedConcurrency(mapConcurrency: number, clusterCount: number): number {
  const clusters = Math.max(1, clusterCount);
  return Math.min(mapConcurrency, clusters) + Math.min(QUICK_SYNC_MAX_CONCURRENCY, clusters) + clusters;
}

/**
 * kms:Decrypt on a token secret's customer-managed key, only when Secrets Manager asks on the
 * function's behalf (the `kms:ViaService` condition) in this region.
 */
export function tokenSecretKeyStatement(stack: Stack, keyArn: string): PolicyStatement {
  return new PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
  });
}

/**
 * The three sync task functions, each with only what it needs: only `sync-cluster` talks to
 * Proxmox, so only it runs in the VPC and may read the token secrets.
 */
/**
 * Timeout of the sync-cluster function: a minute below the full-sync period, at most 5 minutes.
 * The engine stops a run before it (the Lambda context's remaining time) and the next run goes on.
 */
export function syncClusterTimeoutSeconds(fullSyncMinutes: number): number {
  return Math.min(300, fullSyncMinutes * 60 - 60);
}

export class SyncFunctions extends Construct {
  /** ListClusters task: reads the configuration (no table). */
  public readonly listClusters: PveFunction;
  /** SyncCluster task (also invoked by the API's refresh): Proxmox → DynamoDB. */
  public readonly syncCluster: PveFunction;
  /** RecordRun task: global sync statistics. */
  public readonly recordRun: PveFunction;

  constructor(scope: Construct, id: string, props: SyncFunctionsProps) {
    super(scope, id);
    const environment = {
      CLUSTERS_CONFIG: props.clustersJson,
      POWERTOOLS_METRICS_NAMESPACE: SYNC_METRICS_NAMESPACE,
    };

    this.listClusters = new PveFunction(this, 'ListClusters', {
      entry: 'functions/sync/list-clusters.ts',
      serviceName: SYNC_SERVICE_NAME,
      ...(props.tracing ? { tracing: props.tracing } : {}),
      description: 'Sync task: lists the clusters of a sync run',
      memorySize: 256,
      timeout: Duration.seconds(15),
      environment,
    });

    this.syncCluster = new PveFunction(this, 'SyncCluster', {
      entry: 'functions/sync/sync-cluster.ts',
      serviceName: SYNC_SERVICE_NAME,
      ...(props.tracing ? { tracing: props.tracing } : {}),
      description: 'Sync task: syncs one Proxmox cluster into the inventory (full or quick)',
      memorySize: 1024,
      timeout: Duration.seconds(syncClusterTimeoutSeconds(props.cadence.fullIntervalMs / 60_000)),
      environment: { ...environment, ...cadenceEnvironment(props.cadence) },
      reservedConcurrentExecutions: props.syncClusterReservedConcurrency,
      vpc: props.network.vpc,
      vpcSubnets: props.network.subnets,
      securityGroups: [props.network.securityGroup],
    })
      .bindTable(props.inventoryTable, SYNC_CLUSTER_TABLE_ACCESS.inventory, INVENTORY_TABLE)
      .bindTable(props.syncStateTable, SYNC_CLUSTER_TABLE_ACCESS.syncState, SYNC_STATE_TABLE)
      .bindTable(props.ownershipTable, SYNC_CLUSTER_TABLE_ACCESS.ownership, OWNERSHIP_TABLE);
    if (props.secretRefs.length > 0) {
      this.syncCluster.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [...new Set(props.secretRefs.flatMap((ref) => secretArnPatterns(Stack.of(this), ref)))],
        }),
      );
    }
    if (props.tokenSecretKmsKeyArn !== undefined) {
      this.syncCluster.role.addToPrincipalPolicy(
        tokenSecretKeyStatement(Stack.of(this), props.tokenSecretKmsKeyArn),
      );
    }

    this.recordRun = new PveFunction(this, 'RecordRun', {
      entry: 'functions/sync/record-run.ts',
      serviceName: SYNC_SERVICE_NAME,
      ...(props.tracing ? { tracing: props.tracing } : {}),
      description:
        'Sync task: records a run in the global sync statistics and alerts cluster health transitions',
      memorySize: 256,
      timeout: Duration.seconds(15),
      // the staleness cutoff of the cluster alerts
      environment: { ...environment, ...cadenceEnvironment(props.cadence) },
    }).bindTable(props.syncStateTable, RECORD_RUN_TABLE_ACCESS.syncState, SYNC_STATE_TABLE);
  }
}

/**
 * ARNs matching a secret given by name or ARN. Secrets Manager appends `-` and 6 random characters
 * to a secret's ARN, so a name (or a partial ARN) matches with `-??????`; a complete ARN matches itself.
 */
export function secretArnPatterns(stack: Stack, ref: string): string[] {
  if (ref.startsWith('arn:'))
    return /-[A-Za-z0-9]{6}$/.test(ref) ? [ref, `${ref}-??????`] : [`${ref}-??????`];
  return [
    stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${ref}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  ];
}

import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type DeploymentConfig, deploymentCadence } from '../config.ts';
import { AdminAlerts } from '../constructs/admin-alerts.ts';
import type { PveFunction } from '../constructs/pve-function.ts';
import { type DeployableClusters, readClustersForDeployment } from '../constructs/sync-clusters-config.ts';
import { planSyncEgress } from '../constructs/sync-egress.ts';
import { SyncFunctions, syncClusterReservedConcurrency } from '../constructs/sync-functions.ts';
import { SyncMonitoring } from '../constructs/sync-monitoring.ts';
import { SyncSchedules } from '../constructs/sync-schedules.ts';
import { SyncStateMachines } from '../constructs/sync-state-machines.ts';
import { SyncVpcNetwork } from '../constructs/vpc-network.ts';

/** Properties of {@link SyncStack}. */
export interface SyncStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  /** The clusters to deploy for. @default - read from `config.clustersFile` */
  readonly clusters?: DeployableClusters;
  /** Consecutive failed syncs of a cluster that raise an alarm. @default 5 */
  readonly consecutiveErrorThreshold?: number;
}

/**
 * The scheduled sync on AWS: the VPC of the Proxmox-facing function, the three sync functions,
 * the full (Standard) and quick (Express) state machines, their schedules, and the sync-health
 * dashboard with its alarms. It only composes constructs.
 */
export class SyncStack extends Stack {
  public readonly network: SyncVpcNetwork;
  public readonly functions: SyncFunctions;
  /** The full-sync state machine (the API's manual trigger starts it with `{mode: 'full'}`). */
  public readonly fullSyncStateMachine: StateMachine;
  public readonly quickSyncStateMachine: StateMachine;
  /** The sync function (the API's refresh invokes it synchronously with a SyncCluster payload). */
  public readonly syncClusterFunction: PveFunction;
  public readonly monitoring: SyncMonitoring;
  /** The admin alert topic (other functions that alert get `allowPublish`). */
  public readonly alerts: AdminAlerts;
  /** Reserved concurrency of sync-cluster; undefined when none is reserved. */
  public readonly syncClusterReservedConcurrency?: number;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    const { config } = props;
    const clusters = props.clusters ?? readClustersForDeployment(config.clustersFile);
    for (const warning of clusters.warnings) {
      Annotations.of(this).addWarningV2('pve-inventory:clustersConfig', warning);
    }
    if (clusters.clustersWithoutAwsSecret.length > 0) {
      Annotations.of(this).addWarningV2(
        'pve-inventory:clusterSecretNotInAws',
        `clusters ${clusters.clustersWithoutAwsSecret.join(', ')} have no "awsSecret" token secret: the deployed sync cannot resolve their tokens`,
      );
    }

    const egress = planSyncEgress({
      targets: clusters.egressTargets,
      proxmoxCidrs: config.proxmoxCidrs,
      guestCidrs: config.guestCidrs,
    });
    for (const warning of egress.warnings) {
      Annotations.of(this).addWarningV2('pve-inventory:syncEgress', warning);
    }
    if (config.vpc !== undefined) {
      Annotations.of(this).addInfo(
        `imported security group ${config.vpc.securityGroupId} keeps its own rules: it must allow outbound ${egress.rules.map((rule) => `TCP ${rule.port} to ${rule.cidr}`).join(', ')}, and 443 to DynamoDB and Secrets Manager`,
      );
    }
    this.network = new SyncVpcNetwork(this, 'Network', {
      imported: config.vpc,
      maxAzs: config.maxAzs,
      secretsManagerEndpoint: config.secretsManagerEndpoint,
      secretsManagerEndpointAzs: config.secretsManagerEndpointAzs,
      egress: egress.rules,
    });
    const reserved = resolveReservedConcurrency(
      config.syncReservedConcurrency,
      config.syncMaxConcurrency,
      clusters.clusterIds.length,
    );
    this.syncClusterReservedConcurrency = reserved;
    this.functions = new SyncFunctions(this, 'Functions', {
      inventoryTable: props.inventoryTable,
      syncStateTable: props.syncStateTable,
      ownershipTable: props.ownershipTable,
      network: this.network,
      clustersJson: clusters.environmentJson,
      secretRefs: clusters.secretRefs,
      cadence: deploymentCadence(config),
      tracing: config.quickSyncTracing ? Tracing.ACTIVE : Tracing.PASS_THROUGH,
      syncClusterReservedConcurrency: reserved,
      tokenSecretKmsKeyArn: config.tokenSecretKmsKeyArn,
    });
    this.syncClusterFunction = this.functions.syncCluster;

    const machines = new SyncStateMachines(this, 'StateMachines', {
      listClustersFunction: this.functions.listClusters.function,
      syncClusterFunction: this.functions.syncCluster.function,
      recordRunFunction: this.functions.recordRun.function,
      fullSyncMinutes: config.fullSyncMinutes,
      quickSyncSeconds: config.quickSyncSeconds,
      maxConcurrency: config.syncMaxConcurrency,
      quickSyncTracing: config.quickSyncTracing,
      clusterCount: clusters.clusterIds.length,
    });
    this.fullSyncStateMachine = machines.fullSync;
    this.quickSyncStateMachine = machines.quickSync;

    new SyncSchedules(this, 'Schedules', {
      fullSync: machines.fullSync,
      quickSync: machines.quickSync,
      fullSyncMinutes: config.fullSyncMinutes,
    });

    this.alerts = new AdminAlerts(this, 'Alerts', config.alerts);
    this.alerts.allowPublish(this.functions.recordRun);

    this.monitoring = new SyncMonitoring(this, 'Monitoring', {
      clusterIds: clusters.clusterIds,
      fullSync: machines.fullSync,
      quickSync: machines.quickSync,
      functions: {
        'list-clusters': this.functions.listClusters.function,
        'sync-cluster': this.functions.syncCluster.function,
        'record-run': this.functions.recordRun.function,
      },
      consecutiveErrorThreshold: props.consecutiveErrorThreshold,
      alarmEmail: config.alarmEmail,
      syncClusterFunction: this.functions.syncCluster.function,
    });
  }
}

/** The setting refuses a reservation below one Map's width (every run would throttle). */
export class ReservedConcurrencyError extends Error {
  override readonly name = 'ReservedConcurrencyError';
}

/** The reserved concurrency of sync-cluster: the setting, else the derived figure; undefined for `false`. */
export function resolveReservedConcurrency(
  setting: number | false | undefined,
  mapConcurrency: number,
  clusterCount: number,
): number | undefined {
  if (setting === false) return undefined;
  if (setting === undefined) return syncClusterReservedConcurrency(mapConcurrency, clusterCount);
  const width = Math.min(mapConcurrency, Math.max(1, clusterCount));
  if (setting < width) {
    throw new ReservedConcurrencyError(
      `pveInventory.syncReservedConcurrency: ${setting} is below the ${width} clusters one sync pass runs at once (min(syncMaxConcurrency, clusters)); every pass would throttle. Use at least ${width}, the derived ${syncClusterReservedConcurrency(mapConcurrency, clusterCount)}, or false to reserve nothing`,
    );
  }
  return setting;
}

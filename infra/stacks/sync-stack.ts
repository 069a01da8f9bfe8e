import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type DeploymentConfig, deploymentCadence } from '../config.ts';
import type { PveFunction } from '../constructs/pve-function.ts';
import { type DeployableClusters, readClustersForDeployment } from '../constructs/sync-clusters-config.ts';
import { SyncFunctions } from '../constructs/sync-functions.ts';
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

    this.network = new SyncVpcNetwork(this, 'Network', {
      imported: config.vpc,
      maxAzs: config.maxAzs,
      secretsManagerEndpoint: config.secretsManagerEndpoint,
      secretsManagerEndpointAzs: config.secretsManagerEndpointAzs,
      proxmoxPorts: clusters.ports,
    });
    this.functions = new SyncFunctions(this, 'Functions', {
      inventoryTable: props.inventoryTable,
      syncStateTable: props.syncStateTable,
      ownershipTable: props.ownershipTable,
      network: this.network,
      clustersJson: clusters.environmentJson,
      secretRefs: clusters.secretRefs,
      cadence: deploymentCadence(config),
      tracing: config.quickSyncTracing ? Tracing.ACTIVE : Tracing.PASS_THROUGH,
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
    });
    this.fullSyncStateMachine = machines.fullSync;
    this.quickSyncStateMachine = machines.quickSync;

    new SyncSchedules(this, 'Schedules', {
      fullSync: machines.fullSync,
      quickSync: machines.quickSync,
      fullSyncMinutes: config.fullSyncMinutes,
    });

    this.monitoring = new SyncMonitoring(this, 'Monitoring', {
      clusterIds: clusters.clusterIds,
      fullSync: machines.fullSync,
      quickSync: machines.quickSync,
      functions: {
        'list-clusters': this.functions.listClusters.function,
        'sync-cluster': this.functions.syncCluster.function,
        'record-run': this.functions.recordRun.function,
      },
      syncClusterFunction: this.functions.syncCluster.function,
      consecutiveErrorThreshold: props.consecutiveErrorThreshold,
      alarmEmail: config.alarmEmail,
    });
  }
}

/**
 * Synthesizes the sync stack (bundling skipped) and renders its two state machine definitions:
 * the local stack runs exactly what CDK deploys.
 */
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { IConstruct } from 'constructs';
import { parseDeploymentConfig } from '#infra/config.ts';
import { prepareClustersForDeployment } from '#infra/constructs/sync-clusters-config.ts';
import { SyncStack } from '#infra/stacks/sync-stack.ts';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { renderDefinition } from './render-definition.ts';

/** Options of {@link synthesizeSyncDefinitions}. */
export interface SynthesizeSyncOptions {
  /** Deployment settings (the `pveInventory` context shape: `quickSyncSeconds`, `fullSyncMinutes`, …). */
  readonly config?: Record<string, unknown>;
  /** Clusters JSON (contract 1). The definitions do not depend on it. @default no clusters */
  readonly clusters?: unknown;
}

/** The rendered definitions of the sync state machines. */
export interface SyncDefinitions {
  readonly full: StateMachineDefinition;
  readonly quick: StateMachineDefinition;
}

/** Synthesizes the sync stack against stand-in tables and returns its full and quick definitions. */
export function synthesizeSyncDefinitions(options: SynthesizeSyncOptions = {}): SyncDefinitions {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config = parseDeploymentConfig(options.config ?? {});
  const clustersFile = parseClustersFile(options.clusters ?? { clusters: [] }, 'clusters');
  // The definitions do not depend on the tables: stand-ins keep this independent of the data stack.
  const tables = new Stack(app, 'LocalTables');
  const table = (id: string): TableV2 =>
    new TableV2(tables, id, { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  const sync = new SyncStack(app, 'PveInventorySync', {
    config,
    inventoryTable: table('VmInventory'),
    syncStateTable: table('SyncState'),
    ownershipTable: table('Ownership'),
    clusters: prepareClustersForDeployment(clustersFile, 'clusters'),
  });
  const template: unknown = app.synth().getStackByName(sync.stackName).template;
  return {
    full: renderDefinition(template, logicalIdOf(sync, sync.fullSyncStateMachine)),
    quick: renderDefinition(template, logicalIdOf(sync, sync.quickSyncStateMachine)),
  };
}

function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement))
    throw new TypeError(`${construct.node.path} has no CloudFormation resource`);
  return stack.getLogicalId(resource);
}

import { Stack, type StackProps } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import {
  AUDIT_TABLE,
  INVENTORY_TABLE,
  LIVE_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
} from '#shared/store/table-design.ts';
import type { DeploymentConfig } from '../config.ts';
import { PveTable } from '../constructs/pve-table.ts';

export interface DataStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * The stateful part: the inventory, sync-state, ownership and audit trail tables (contract 3). Inventory and sync
 * state can be rebuilt by a sync; assignments and classes cannot, so they are retained with
 * deletion protection by default.
 */
export class DataStack extends Stack {
  public readonly inventoryTable: TableV2;
  public readonly syncStateTable: TableV2;
  public readonly ownershipTable: TableV2;
  /** Who changed what (kept `auditRetentionDays` by TTL); retained like the ownership data. */
  public readonly auditTable: TableV2;
  /** Live updates' connections, cluster versions and recent-delta log (all rebuildable, TTL'd). */
  public readonly liveTable: TableV2;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.inventoryTable = new PveTable(this, 'VmInventory', {
      design: INVENTORY_TABLE,
      removal: config.inventoryRemovalPolicy,
    }).table;
    this.syncStateTable = new PveTable(this, 'SyncState', {
      design: SYNC_STATE_TABLE,
      removal: config.inventoryRemovalPolicy,
    }).table;
    this.ownershipTable = new PveTable(this, 'Ownership', {
      design: OWNERSHIP_TABLE,
      removal: config.ownershipRemovalPolicy,
    }).table;
    this.auditTable = new PveTable(this, 'AuditTrail', {
      design: AUDIT_TABLE,
      removal: config.ownershipRemovalPolicy,
    }).table;
    this.liveTable = new PveTable(this, 'LiveConnections', {
      design: LIVE_TABLE,
      removal: config.inventoryRemovalPolicy,
    }).table;
  }
}

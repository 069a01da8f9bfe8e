import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthApp } from './helpers.ts';

describe('DataStack', () => {
  const { app, stacks, template } = synthApp();
  const data = template(stacks.data);

  it('synthesizes the whole app with cdk-nag and no unacknowledged finding', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('creates exactly the five tables (the audit trail and live connections included), on demand, with point-in-time recovery', () => {
    data.resourceCountIs('AWS::DynamoDB::GlobalTable', 5);
    const tables = data.findResources('AWS::DynamoDB::GlobalTable');
    for (const table of Object.values(tables)) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.TableName).toBeUndefined();
      for (const replica of table.Properties.Replicas) {
        expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      }
    }
  });

  it('keys VmInventory by (cluster_id S, vmid N) with the sparse errors index', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'cluster_id', KeyType: 'HASH' },
        { AttributeName: 'vmid', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'cluster_id', AttributeType: 'S' },
        { AttributeName: 'vmid', AttributeType: 'N' },
        { AttributeName: 'error_cluster_id', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'ByErrorCluster',
          KeySchema: [
            { AttributeName: 'error_cluster_id', KeyType: 'HASH' },
            { AttributeName: 'vmid', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['name', 'node', 'status', 'sync_error', 'observed_at'],
          },
        },
      ],
    });
  });

  it('keys SyncState by (pk, sk) with TTL on expires_at and no index', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      GlobalSecondaryIndexes: Match.absent(),
    });
  });

  it('gives Ownership the by-VM and by-member indexes', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'ByVm',
          KeySchema: [
            { AttributeName: 'vm_key', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'ByMember',
          KeySchema: [
            { AttributeName: 'member', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('retains ownership with deletion protection and lets the rebuildable tables go by default', () => {
    const tables = Object.values(data.findResources('AWS::DynamoDB::GlobalTable'));
    const ownership = tables.filter((t) =>
      t.Properties.GlobalSecondaryIndexes?.some((i: { IndexName: string }) => i.IndexName === 'ByVm'),
    );
    expect(ownership).toHaveLength(1);
    expect(ownership[0]?.DeletionPolicy).toBe('Retain');
    expect(ownership[0]?.UpdateReplacePolicy).toBe('Retain');
    expect(ownership[0]?.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    const audit = tables.filter((t) =>
      t.Properties.GlobalSecondaryIndexes?.some((i: { IndexName: string }) => i.IndexName === 'AuditByActor'),
    );
    expect(audit).toHaveLength(1);
    // The audit trail is kept like the ownership data; its entries expire by TTL.
    expect(audit[0]?.DeletionPolicy).toBe('Retain');
    expect(audit[0]?.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expires_at',
      Enabled: true,
    });
    const others = tables.filter((t) => !ownership.includes(t) && !audit.includes(t));
    for (const table of others) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
  });

  it('applies the configured removal policies', () => {
    const custom = synthApp({
      pveInventory: { inventoryRemovalPolicy: 'retain', ownershipRemovalPolicy: 'destroy' },
    });
    const tables = Object.values(
      custom.template(custom.stacks.data).findResources('AWS::DynamoDB::GlobalTable'),
    );
    // The ownership table and the audit trail follow ownershipRemovalPolicy.
    const byVm = (t: (typeof tables)[number]) =>
      t.Properties.GlobalSecondaryIndexes?.some(
        (i: { IndexName: string }) => i.IndexName === 'ByVm' || i.IndexName === 'AuditByVm',
      ) === true;
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe(byVm(table) ? 'Delete' : 'Retain');
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  AUDIT_TABLE,
  INVENTORY_TABLE,
  LIVE_TABLE,
  OWNERSHIP_TABLE,
  ownershipKeys,
  SYNC_STATE_TABLE,
  syncStateKeys,
  TABLE_DESIGNS,
  toCreateTableInput,
} from '#shared/store/table-design.ts';

describe('table design', () => {
  it('defines the tables of contract 3, the audit trail and live connections with their environment variables', () => {
    expect(TABLE_DESIGNS.map((t) => [t.id, t.envVar])).toEqual([
      ['VmInventory', 'INVENTORY_TABLE'],
      ['SyncState', 'SYNC_STATE_TABLE'],
      ['Ownership', 'OWNERSHIP_TABLE'],
      ['AuditTrail', 'AUDIT_TABLE'],
      ['LiveConnections', 'LIVE_TABLE'],
    ]);
    expect(LIVE_TABLE.ttlAttribute).toBe('expires_at');
    // The live updates read the changes of the synced tables and the ownership from their streams.
    expect(TABLE_DESIGNS.filter((t) => t.stream === 'NEW_AND_OLD_IMAGES').map((t) => t.id)).toEqual([
      'VmInventory',
      'SyncState',
      'Ownership',
    ]);
    expect(toCreateTableInput(INVENTORY_TABLE, 'inv').StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(toCreateTableInput(AUDIT_TABLE, 'audit').StreamSpecification).toBeUndefined();
    expect(SYNC_STATE_TABLE.ttlAttribute).toBe('expires_at');
    expect(AUDIT_TABLE.ttlAttribute).toBe('expires_at');
    expect(AUDIT_TABLE.globalSecondaryIndexes.map((index) => index.partitionKey.name)).toEqual([
      'actor',
      'vm_key',
      'class_id',
    ]);
  });

  it('builds an on-demand CreateTable input with every key attribute defined once', () => {
    const input = toCreateTableInput(OWNERSHIP_TABLE, 'own');
    expect(input).toMatchObject({
      TableName: 'own',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    expect(input.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'vm_key', AttributeType: 'S' },
      { AttributeName: 'member', AttributeType: 'S' },
    ]);
    expect(input.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['ByVm', 'ByMember']);
  });

  it('passes INCLUDE projections through and leaves out an empty index list', () => {
    expect(toCreateTableInput(INVENTORY_TABLE, 'inv').GlobalSecondaryIndexes?.[0]?.Projection).toEqual({
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: ['name', 'node', 'status', 'sync_error', 'observed_at'],
    });
    expect(toCreateTableInput(SYNC_STATE_TABLE, 'ss')).not.toHaveProperty('GlobalSecondaryIndexes');
  });

  it('builds keys that sort runtime chunks numerically and keep sources apart', () => {
    expect(syncStateKeys.runtime('lab-a', 'pve1', 7)).toEqual({
      pk: 'CLUSTER#lab-a',
      sk: 'RUNTIME#pve1#007',
    });
    expect(syncStateKeys.lease('lab-a', 'full')).toEqual({ pk: 'CLUSTER#lab-a', sk: 'LEASE#full' });
    expect(syncStateKeys.clusterState('lab-a')).toEqual({ pk: 'CLUSTERS', sk: 'lab-a' });
    expect(ownershipKeys.assignmentSortKey('lab-a', 101, 'class', 'net-1')).toBe(
      'ASSIGN#lab-a#101#class#net-1',
    );
    expect(ownershipKeys.assignmentSortKey('lab-a', 101, 'admin', null)).toBe('ASSIGN#lab-a#101#admin');
  });
});

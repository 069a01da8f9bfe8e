import { describe, expect, it } from 'vitest';
import { AssignmentSchema, ClassIdSchema, ClassVmSchema } from '#shared/domain/ownership.ts';

describe('ownership schemas', () => {
  it('defaults an assignment to active and without class', () => {
    expect(
      AssignmentSchema.parse({
        username: 'alice',
        cluster_id: 'lab-a',
        vmid: 101,
        source: 'mapping',
        created_at: 0,
      }),
    ).toEqual({
      username: 'alice',
      cluster_id: 'lab-a',
      vmid: 101,
      source: 'mapping',
      class_id: null,
      suspended: false,
      suspended_at: null,
      created_at: 0,
    });
  });

  it.each([
    ['a bare VMID without cluster', { username: 'a', vmid: 101, source: 'admin', created_at: 0 }],
    ['an unknown source', { username: 'a', cluster_id: 'lab-a', vmid: 101, source: 'guess', created_at: 0 }],
    ['an empty username', { username: '', cluster_id: 'lab-a', vmid: 101, source: 'admin', created_at: 0 }],
  ])('rejects %s', (_label, item) => {
    expect(AssignmentSchema.safeParse(item).success).toBe(false);
  });

  it('keeps class ids usable in keys', () => {
    expect(ClassIdSchema.safeParse('net-101').success).toBe(true);
    expect(ClassIdSchema.safeParse('Net#101').success).toBe(false);
    expect(ClassVmSchema.parse({ class_id: 'net-101', cluster_id: 'lab-a', vmid: 101 }).student).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOwnershipRepository } from '#shared/store/dynamodb/ownership-repository.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

let tables: TestTables;
let repo: DynamoDbOwnershipRepository;

beforeAll(async () => {
  tables = await createTestTables('ownership');
  repo = new DynamoDbOwnershipRepository(tables.documentClient, tables.names.ownership);
});

afterAll(async () => {
  await tables?.drop();
});

describe('assignments', () => {
  it('keys assignments by (cluster, vmid): the same VMID on two clusters stays apart', async () => {
    await repo.putAssignments([
      { username: 'alice', cluster_id: 'lab-a', vmid: 101, source: 'mapping', created_at: 1 },
      { username: 'bob', cluster_id: 'lab-b', vmid: 101, source: 'mapping', created_at: 1 },
      { username: 'alice', cluster_id: 'lab-a', vmid: 101, source: 'admin', created_at: 2 },
    ]);
    expect((await repo.listAssignmentsOfUser('alice')).map((a) => [a.cluster_id, a.vmid, a.source])).toEqual([
      ['lab-a', 101, 'admin'],
      ['lab-a', 101, 'mapping'],
    ]);
    expect((await repo.listOwnersOfVm({ cluster_id: 'lab-b', vmid: 101 })).map((a) => a.username)).toEqual([
      'bob',
    ]);
    expect(await repo.listAllAssignments()).toHaveLength(3);
  });

  it('suspends every assignment of a removed VM and hides them from the owner', async () => {
    await repo.putAssignment({
      username: 'carol',
      cluster_id: 'lab-a',
      vmid: 202,
      source: 'admin',
      created_at: 1,
    });
    const report = await repo.suspendVm({ cluster_id: 'lab-a', vmid: 202 }, 5_000);
    expect(report.writes).toBe(1);
    expect(await repo.listAssignmentsOfUser('carol')).toEqual([]);
    expect(await repo.listAssignmentsOfUser('carol', { includeSuspended: true })).toMatchObject([
      { vmid: 202, suspended: true, suspended_at: 5_000 },
    ]);
    // Suspending again writes nothing.
    expect((await repo.suspendVm({ cluster_id: 'lab-a', vmid: 202 }, 6_000)).writes).toBe(0);
  });

  it('deletes one assignment by its source', async () => {
    expect(
      await repo.deleteAssignment({ username: 'alice', cluster_id: 'lab-a', vmid: 101, source: 'admin' }),
    ).toBe(true);
    expect(
      await repo.deleteAssignment({ username: 'alice', cluster_id: 'lab-a', vmid: 101, source: 'admin' }),
    ).toBe(false);
    expect((await repo.listAssignmentsOfUser('alice')).map((a) => a.source)).toEqual(['mapping']);
  });

  it('validates every assignment before writing any', async () => {
    await expect(
      repo.putAssignments([
        { username: 'dave', cluster_id: 'lab-a', vmid: 303, source: 'mapping', created_at: 1 },
        { username: 'dave', cluster_id: 'lab-a', vmid: 12, source: 'mapping', created_at: 1 },
      ]),
    ).rejects.toThrow();
    expect(await repo.listAssignmentsOfUser('dave')).toEqual([]);
  });
});

describe('classes', () => {
  it('keeps a class with teachers, students and VMs assigned to students', async () => {
    await repo.putClass({ class_id: 'net-101', name: 'Networking 101', created_at: 1 });
    await repo.addClassMember('net-101', 'tina', 'teacher');
    await repo.addClassMember('net-101', 'sam', 'student');
    await repo.addClassMember('net-101', 'sue', 'student');
    await repo.assignClassVm('net-101', { cluster_id: 'lab-a', vmid: 401 }, 'sam', 10);

    expect(await repo.getClass('net-101')).toMatchObject({
      info: { class_id: 'net-101', name: 'Networking 101' },
      teachers: ['tina'],
      students: ['sam', 'sue'],
      vms: [{ cluster_id: 'lab-a', vmid: 401, student: 'sam' }],
    });
    expect(await repo.listAssignmentsOfUser('sam')).toMatchObject([
      { cluster_id: 'lab-a', vmid: 401, source: 'class', class_id: 'net-101' },
    ]);
    expect(await repo.listClassesOfUser('tina')).toEqual([
      { class_id: 'net-101', username: 'tina', role: 'teacher' },
    ]);
    expect(await repo.listClassesOfVm({ cluster_id: 'lab-a', vmid: 401 })).toMatchObject([
      { class_id: 'net-101' },
    ]);
    expect((await repo.listClasses()).map((c) => c.class_id)).toEqual(['net-101']);
  });

  it('moves a class VM to another student in one transaction', async () => {
    await repo.assignClassVm('net-101', { cluster_id: 'lab-a', vmid: 401 }, 'sue', 20);
    expect(await repo.listAssignmentsOfUser('sam')).toEqual([]);
    expect((await repo.listAssignmentsOfUser('sue')).map((a) => a.vmid)).toEqual([401]);
  });

  it('removes members, VMs and whole classes with their class assignments', async () => {
    await repo.assignClassVm('net-101', { cluster_id: 'lab-a', vmid: 402 }, 'sam', 30);
    await repo.removeClassVm('net-101', { cluster_id: 'lab-a', vmid: 402 });
    expect(await repo.listAssignmentsOfUser('sam')).toEqual([]);
    await repo.removeClassMember('net-101', 'sam');
    expect((await repo.getClass('net-101'))?.students).toEqual(['sue']);

    await repo.deleteClass('net-101');
    expect(await repo.getClass('net-101')).toBeNull();
    expect(await repo.listAssignmentsOfUser('sue')).toEqual([]);
    expect(await repo.listClassesOfUser('tina')).toEqual([]);
  });
});

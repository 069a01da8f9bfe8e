import { describe, expect, it } from 'vitest';
import type { ActionResult, ActionService } from '#shared/actions/action-service.ts';
import { type BulkItemResult, refreshLine, runBulkAction } from '#shared/actions/bulk-action.ts';
import { ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import type { AuditEntryInput } from '#shared/audit/audit-entry.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import { ConflictError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';

const carol: Caller = { username: 'carol', roles: { admin: false, teacher: true } };

/** VMs 100… spread over `nodes` nodes of cluster lab-a, as the table holds them. */
function vms(count: number, nodes: number): StoredVm[] {
  return Array.from(
    { length: count },
    (_, i) => ({ cluster_id: 'lab-a', vmid: 100 + i, node: `pve${i % nodes}` }) as StoredVm,
  );
}

/** An action service that records how many actions run per node at once. */
function recordingService(stored: StoredVm[], behaviour: (vmid: number) => Promise<ActionResult>) {
  const nodeOf = new Map(stored.map((vm) => [vm.vmid, vm.node]));
  const running = new Map<string, number>();
  const peaks = new Map<string, number>();
  const waits: number[] = [];
  const factory = (waitMs: number): ActionService => ({
    async perform(request) {
      waits.push(waitMs);
      const node = nodeOf.get(request.vmid) ?? '?';
      running.set(node, (running.get(node) ?? 0) + 1);
      peaks.set(node, Math.max(peaks.get(node) ?? 0, running.get(node) ?? 0));
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await behaviour(request.vmid);
      } finally {
        running.set(node, (running.get(node) ?? 1) - 1);
      }
    },
  });
  return { factory, peaks, waits };
}

const started = (vmid: number): ActionResult => ({
  outcome: 'confirmed',
  key: { cluster_id: 'lab-a', vmid },
  action: 'start',
  status: 'running',
  upid: `UPID:${vmid}`,
});

describe('runBulkAction', () => {
  it('runs at most the worker limit per node at once, and uses it', async () => {
    const stored = vms(30, 3);
    const service = recordingService(stored, async (vmid) => started(vmid));
    const results = await runBulkAction(
      {
        inventory: { getVms: async () => stored },
        actionService: service.factory,
        workerLimit: () => 3,
      },
      { caller: carol, action: 'start', targets: stored, requestId: 'r1' },
    );
    expect(results).toHaveLength(30);
    expect(results.every((line) => line.outcome === 'done')).toBe(true);
    expect([...service.peaks.values()]).toEqual([3, 3, 3]);
  });

  it('reports each VM in request order; a refusal or failure hides no success; audits each', async () => {
    const stored = vms(4, 2);
    const service = recordingService(stored, async (vmid) => {
      if (vmid === 101) throw new ConflictError('Templates cannot be started');
      if (vmid === 102) throw new ProxmoxUnavailableError('connect ECONNREFUSED');
      if (vmid === 103) throw new Error('boom');
      return started(vmid);
    });
    const audited: AuditEntryInput[] = [];
    const results = await runBulkAction(
      {
        inventory: { getVms: async () => stored },
        actionService: service.factory,
        workerLimit: () => 1,
        audit: { recordAudit: async (entry) => void audited.push(entry) },
      },
      {
        caller: carol,
        action: 'start',
        targets: [...stored, { cluster_id: 'lab-a', vmid: 100 }],
        requestId: 'r2',
        classId: 'net',
      },
    );
    expect(results.map((line) => [line.vmid, line.outcome, line.error_code])).toEqual([
      [100, 'done', null],
      [101, 'refused', 'conflict'],
      [102, 'failed', 'proxmox_unavailable'],
      [103, 'failed', 'internal_error'],
    ]);
    expect(results[3]?.reason).toBe('Internal error');
    expect(audited.map((entry) => [entry.target.vmid, entry.result, entry.status, entry.request_id])).toEqual(
      expect.arrayContaining([
        [100, 'success', 200, 'r2#lab-a#100'],
        [101, 'refused', 409, 'r2#lab-a#101'],
        [102, 'failed', 502, 'r2#lab-a#102'],
        [103, 'failed', 500, 'r2#lab-a#103'],
      ]),
    );
    expect(audited.every((entry) => entry.target.class_id === 'net' && entry.actor === 'carol')).toBe(true);
  });

  it('gives no wait to the VMs whose turn comes after the budget (still sent)', async () => {
    const stored = vms(3, 1);
    let clock = 0;
    const service = recordingService(stored, async (vmid) => {
      clock += 1_000;
      return started(vmid);
    });
    await runBulkAction(
      {
        inventory: { getVms: async () => stored },
        actionService: service.factory,
        workerLimit: () => 1,
        now: () => clock,
        vmWaitMs: 800,
        budgetMs: 1_500,
      },
      { caller: carol, action: 'start', targets: stored, requestId: 'r3' },
    );
    expect(service.waits).toEqual([800, 500, 0]);
  });
});

describe('refreshLine', () => {
  const key: VmKey = { cluster_id: 'lab-a', vmid: 100 };
  const pending: BulkItemResult = {
    ...key,
    outcome: 'pending',
    status: null,
    upid: 'UPID:x',
    error_code: null,
    reason: 'task-running',
  };
  const vm = (over: Partial<StoredVm>) => ({ ...key, status: 'stopped', ...over }) as StoredVm;

  it('keeps a live pending line, settles a confirmed one, fails an expired or contradicted one', () => {
    expect(
      refreshLine(pending, 'start', vm({ pending_action: 'start', pending_since: 1_000 }), 2_000, 120_000),
    ).toBe(pending);
    expect(refreshLine(pending, 'start', vm({ status: 'running' }), 2_000, 120_000)).toMatchObject({
      outcome: 'done',
      status: 'running',
    });
    expect(
      refreshLine(pending, 'start', vm({ pending_action: 'start', pending_since: 1_000 }), 200_000, 120_000),
    ).toMatchObject({ outcome: 'failed', error_code: 'action_failed' });
    expect(refreshLine(pending, 'start', vm({}), 2_000, 120_000)).toMatchObject({ outcome: 'failed' });
    expect(refreshLine(pending, 'start', undefined, 2_000, 120_000)).toMatchObject({ outcome: 'failed' });
  });
});

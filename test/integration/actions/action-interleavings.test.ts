import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionGateway, createActionService } from '#shared/actions/action-service.ts';
import { ActionFailedError } from '#shared/actions/errors.ts';
import type { PendingAction, VmKey, VmStatus } from '#shared/domain/vm-record.ts';
import type { Caller } from '#shared/http/identity.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { InventoryRepository, Repositories } from '#shared/store/ports.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';
import { newVm } from '../store/fixtures.ts';

/**
 * 1,000 randomized interleavings of one power action with sync observations, on DynamoDB Local and
 * without artificial delays: fast-check's scheduler decides the order in which every repository
 * call, Proxmox call and observation step goes ahead. A run "clobbers" the action when the table
 * ends with a status other than Proxmox's (an older observation overwrote the confirmed state) or
 * with the pending state left behind.
 */

const CLUSTER = 'prop-1';
const admin: Caller = { username: 'root', roles: { admin: true, teacher: false } };

let tables: TestTables;
let repos: Repositories;
/** VMs written up front (one batch load instead of one write per run), per initial status. */
const SEEDED = 1_100;
const firstVmid: Record<'stopped' | 'running', number> = { stopped: 10_000, running: 20_000 };
const used: Record<'stopped' | 'running', number> = { stopped: 0, running: 0 };
const BASE_CLOCK = 1_700_000_000_000;

beforeAll(async () => {
  tables = await createTestTables('action-prop');
  repos = createDynamoDbRepositories(tables.documentClient, tables.names);
  await repos.inventory.batchPut(
    (['stopped', 'running'] as const).flatMap((status) =>
      Array.from({ length: SEEDED }, (_, i) =>
        newVm(CLUSTER, firstVmid[status] + i, { status, observed_at: BASE_CLOCK }),
      ),
    ),
  );
});

/** A VM of the given status that no run used yet (seeded, or written now once the seed is used up). */
async function freshVm(status: 'stopped' | 'running'): Promise<VmKey> {
  const index = used[status]++;
  const key: VmKey = { cluster_id: CLUSTER, vmid: firstVmid[status] + index };
  if (index >= SEEDED)
    await repos.inventory.batchPut([newVm(CLUSTER, key.vmid, { status, observed_at: BASE_CLOCK })]);
  return key;
}

afterAll(async () => {
  await tables?.drop();
});

/**
 * Progress of the action in steps (each repository or Proxmox call is one): observations wait for
 * a given step, then for the scheduler's go, so that their reads and writes land before, between
 * and after every step of the action. Waiting on steps rather than on scheduler turns matters: the
 * scheduler would otherwise run every turn of an observation while one DynamoDB call is in flight.
 */
class ActionProgress {
  private step = 0;
  private waiters: { step: number; resolve: () => void }[] = [];

  /** Marks one more step of the action as reached. */
  advance(): void {
    this.step++;
    this.release();
  }

  /** The action ended: nobody waits any longer. */
  finish(): void {
    this.step = Number.POSITIVE_INFINITY;
    this.release();
  }

  /** Resolves once the action has reached `step`. */
  reached(step: number): Promise<void> {
    if (this.step >= step) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ step, resolve }));
  }

  private release(): void {
    const ready = this.waiters.filter((waiter) => waiter.step <= this.step);
    this.waiters = this.waiters.filter((waiter) => waiter.step > this.step);
    for (const waiter of ready) waiter.resolve();
  }
}

/** An inventory whose every call waits for the scheduler's go and counts as a step of the action. */
function scheduledInventory(
  s: fc.Scheduler,
  progress: ActionProgress,
  inventory: InventoryRepository,
): InventoryRepository {
  const gate = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    await s.schedule(Promise.resolve(label), label);
    progress.advance();
    return run();
  };
  return {
    ...inventory,
    getVms: (...args) => gate('getVms', () => inventory.getVms(...args)),
    setPending: (...args) => gate('setPending', () => inventory.setPending(...args)),
    setPendingUpid: (...args) => gate('setPendingUpid', () => inventory.setPendingUpid(...args)),
    clearPending: (...args) => gate('clearPending', () => inventory.clearPending(...args)),
  };
}

const runArbitrary = fc.record({
  scheduler: fc.scheduler(),
  action: fc.constantFrom<PendingAction>('start', 'stop', 'shutdown', 'reboot'),
  taskOk: fc.boolean(),
  /**
   * Sync observations racing the action: each reads Proxmox once the action reached step `readAt`
   * (before, during or after it) and writes `writeAfter` steps later.
   */
  observations: fc.array(
    fc.record({ readAt: fc.integer({ min: 0, max: 7 }), writeAfter: fc.integer({ min: 0, max: 4 }) }),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('an action interleaved with sync observations', () => {
  it('ends with 0 clobbered actions over 1,000 interleavings', { timeout: 180_000 }, async () => {
    let clobbered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(runArbitrary, async ({ scheduler: s, action, taskOk, observations }) => {
        runs++;
        const initial = action === 'start' ? 'stopped' : 'running';
        const key = await freshVm(initial);
        let clock = BASE_CLOCK;
        const now = () => ++clock;

        // Proxmox as the observations see it: the status flips when the task finishes successfully.
        let truth: VmStatus = initial;
        let powerCalls = 0;
        const progress = new ActionProgress();
        const step = async (label: string): Promise<void> => {
          await s.schedule(Promise.resolve(label), label);
          progress.advance();
        };
        const target: VmStatus = action === 'start' || action === 'reboot' ? 'running' : 'stopped';
        const gateway: ActionGateway = {
          powerAction: () => {
            powerCalls++;
            return step('powerAction').then(
              () => `UPID:pve0:0000AAAA:0000BBBB:00000000:qm${action}:${key.vmid}:root@pam:`,
            );
          },
          waitForTask: (upid) =>
            step('task').then(() => {
              if (taskOk) truth = target;
              return {
                finished: true as const,
                upid,
                exitStatus: taskOk ? 'OK' : 'VM is locked (backup)',
                ok: taskOk,
              };
            }),
          guestStatus: () => Promise.reject(new Error('not HA-managed: never asked')),
        };
        const service = createActionService({
          inventory: scheduledInventory(s, progress, repos.inventory),
          ownership: repos.ownership,
          clusterIds: async () => [CLUSTER],
          gatewayFor: async () => gateway,
          now,
          waitMs: 10_000,
          pollIntervalMs: 1,
        });

        const observe = async (timing: { readAt: number; writeAfter: number }): Promise<void> => {
          await progress.reached(timing.readAt);
          await s.schedule(Promise.resolve('observation reads Proxmox'), 'observation reads Proxmox');
          const observedAt = now();
          const status = truth;
          await progress.reached(timing.readAt + timing.writeAfter);
          await s.schedule(Promise.resolve('observation writes'), 'observation writes');
          await repos.inventory.applyChanges([{ key, observedAt, set: { status } }]);
        };

        const acted = service
          .perform({ caller: admin, vmid: key.vmid, action, clusterId: CLUSTER })
          .then((result) => ({ result, error: null }))
          .catch((error: unknown) => ({ result: null, error }))
          .finally(() => progress.finish());
        const all = Promise.all([acted, ...observations.map(observe)]);
        const [outcome] = await s.waitFor(all);

        if (taskOk) expect(outcome.result).toMatchObject({ outcome: 'confirmed', status: target });
        else expect(outcome.error).toBeInstanceOf(ActionFailedError);
        expect(powerCalls).toBe(1);

        const stored = await repos.inventory.getVm(key, { consistentRead: true });
        if (stored?.status !== truth || stored.pending_action !== undefined) {
          clobbered++;
          throw new Error(
            `clobbered: table ${stored?.status}/${stored?.pending_action ?? '-'}, Proxmox ${truth}\n${s
              .report()
              .map((r) => r.label)
              .join(' → ')}`,
          );
        }
      }),
      { numRuns: 1_000 },
    );
    expect(runs).toBeGreaterThanOrEqual(1_000);
    expect(clobbered).toBe(0);
  });
});

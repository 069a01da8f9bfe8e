import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { THROTTLED_ERROR } from '#infra/constructs/sync-state-machines.ts';
import {
  bindSyncTaskHandlers,
  runStateMachine,
  type SyncDefinitions,
  synthesizeSyncDefinitions,
  taskStateNames,
  validateDefinition,
} from '#local/stepfunctions/index.ts';
import {
  ListClustersInputSchema,
  type ListClustersOutput,
  parseTaskPayload,
  type RecordRunInput,
  RecordRunInputSchema,
  type RecordRunOutput,
  SyncClusterInputSchema,
  SyncStateName,
  type SyncSummary,
} from '#shared/sync/contract.ts';

const CLUSTERS = ['lab-a', 'lab-b', 'lab-c'];
const SYNTH_TIMEOUT = 120_000;

/** Fake sync tasks recording what the state machine passed them; `failing` clusters throw. */
function fakeTasks(failing: ReadonlySet<string>, options: { failRecordRunCalls?: number[] } = {}) {
  const synced: { cluster_id: string; mode: string }[] = [];
  const recorded: RecordRunInput[] = [];
  const listed: unknown[] = [];
  const handlers = {
    listClusters: async (input: unknown): Promise<ListClustersOutput> => {
      listed.push(input);
      const { mode } = parseTaskPayload(ListClustersInputSchema, input, 'ListClusters input');
      return { mode, clusters: CLUSTERS.map((cluster_id) => ({ cluster_id, mode })) };
    },
    syncCluster: async (input: unknown): Promise<SyncSummary> => {
      const { cluster_id, mode } = parseTaskPayload(SyncClusterInputSchema, input, 'SyncCluster input');
      if (failing.has(cluster_id)) throw new Error(`cluster ${cluster_id} exploded`);
      synced.push({ cluster_id, mode });
      return { cluster_id, mode, ok: true, vms: 10, changed: 1, writes: 1, proxmox_calls: 1, duration_ms: 5 };
    },
    recordRun: async (input: unknown): Promise<RecordRunOutput> => {
      const run = parseTaskPayload(RecordRunInputSchema, input, 'RecordRun input');
      recorded.push(run);
      if (options.failRecordRunCalls?.includes(recorded.length))
        throw new Error('sync state table unavailable');
      const ok = run.results.filter((result) => result.ok).length;
      return { mode: run.mode, clusters: run.results.length, ok, failed: run.results.length - ok };
    },
  };
  return { handlers, synced, recorded, listed };
}

function waitOverrides(definition: StateMachineDefinition): Record<string, number> {
  return Object.fromEntries(
    Object.keys(definition.States)
      .filter((name) => name.startsWith('WaitBeforePass'))
      .map((name) => [name, 1]),
  );
}

describe('sync state machine definitions', () => {
  const byInterval = new Map<number, SyncDefinitions>();

  beforeAll(() => {
    byInterval.set(30, synthesizeSyncDefinitions({ config: { quickSyncSeconds: 30 } }));
  }, SYNTH_TIMEOUT);

  function definitions(interval = 30): SyncDefinitions {
    const found = byInterval.get(interval);
    if (!found) throw new Error(`no definitions for ${interval}`);
    return found;
  }

  it('refuse the quick-sync intervals whose passes cannot fit the machine timeout, naming the setting', () => {
    for (const interval of [15, 20]) {
      expect(() => synthesizeSyncDefinitions({ config: { quickSyncSeconds: interval } })).toThrow(
        new RegExp(`pveInventory\\.quickSyncSeconds: ${interval} s cannot fit .*Use quickSyncSeconds: 30`),
      );
    }
  });

  it('are valid ASL (asl-validator), and validation leaves them untouched', () => {
    for (const interval of [30]) {
      for (const definition of [definitions(interval).full, definitions(interval).quick]) {
        const before = JSON.stringify(definition);
        const validation = validateDefinition(structuredClone(definition));
        expect(validation.errors).toEqual([]);
        expect(validation.valid).toBe(true);
        expect(JSON.stringify(definition)).toBe(before);
      }
    }
  });

  it('use JSONPath only: no JSONata and no Assign, which the local interpreter would ignore', () => {
    for (const definition of [definitions().full, definitions().quick]) {
      const text = JSON.stringify(definition);
      expect(text).not.toMatch(/JSONata/i);
      expect(text).not.toContain('"Assign"');
      expect(text).not.toContain('"Arguments"');
    }
  });

  it('give the full sync stable task names and a Catch inside the Map iteration', () => {
    const { full } = definitions();
    expect(full.StartAt).toBe(SyncStateName.listClusters);
    expect(taskStateNames(full).sort()).toEqual(
      [SyncStateName.listClusters, SyncStateName.syncCluster, SyncStateName.recordRun].sort(),
    );
    const map = full.States[SyncStateName.syncClusters];
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.clusters', MaxConcurrency: 10 });
    expect(JSON.stringify(map)).toContain('"ErrorEquals":["States.ALL"]');
    expect(full.TimeoutSeconds).toBeLessThan(5 * 60);
  });

  it('runs 60/interval quick passes separated by Wait states of the interval, within a minute', () => {
    for (const [interval, passes] of [[30, 2]] as const) {
      const { quick } = definitions(interval);
      const maps = Object.entries(quick.States).filter(([, state]) => state.Type === 'Map');
      const waits = Object.values(quick.States).filter((state) => state.Type === 'Wait');
      expect(maps).toHaveLength(passes);
      expect(waits).toHaveLength(passes - 1);
      for (const wait of waits) expect(wait).toMatchObject({ Seconds: interval });
      expect(quick.TimeoutSeconds).toBeLessThan(60);
    }
  });

  it('full sync: one cluster throwing leaves the execution successful, the others synced and the failure recorded', async () => {
    const { full } = definitions();
    const tasks = fakeTasks(new Set(['lab-b']));

    const output = await runStateMachine(
      full,
      { mode: 'full' },
      { taskHandlers: bindSyncTaskHandlers(full, tasks.handlers) },
    );

    expect(output).toEqual({ mode: 'full', clusters: 3, ok: 2, failed: 1 });
    expect(tasks.listed).toEqual([{ mode: 'full' }]);
    expect(tasks.synced.map((s) => s.cluster_id).sort()).toEqual(['lab-a', 'lab-c']);
    expect(tasks.recorded).toHaveLength(1);
    const results = tasks.recorded[0]?.results ?? [];
    expect(results.map((r) => [r.cluster_id, r.ok])).toEqual([
      ['lab-a', true],
      ['lab-b', false],
      ['lab-c', true],
    ]);
    const failure = results.find((r) => r.cluster_id === 'lab-b');
    expect(failure?.error).toContain('cluster lab-b exploded');
  });

  it('full sync: a transient Lambda error is retried, not recorded as a failure', async () => {
    const { full } = definitions();
    const tasks = fakeTasks(new Set());
    let throttled = false;
    const handlers = {
      ...tasks.handlers,
      syncCluster: async (input: unknown) => {
        if (!throttled) {
          throttled = true;
          const error = new Error('Rate exceeded');
          error.name = 'Lambda.TooManyRequestsException';
          throw error;
        }
        return tasks.handlers.syncCluster(input);
      },
    };

    const output = await runStateMachine(
      full,
      { mode: 'full' },
      {
        taskHandlers: bindSyncTaskHandlers(full, handlers),
        retryIntervalOverrides: { [SyncStateName.syncCluster]: 0 },
      },
    );

    expect(output).toEqual({ mode: 'full', clusters: 3, ok: 3, failed: 0 });
    expect(tasks.synced).toHaveLength(3);
  });

  it('full sync: a throttle outlasting the retries is recorded as throttled, in its own state, not as a crash', async () => {
    const { full } = definitions();
    const tasks = fakeTasks(new Set());
    let attempts = 0;
    const handlers = {
      ...tasks.handlers,
      syncCluster: async (input: unknown) => {
        if (JSON.stringify(input).includes('lab-b')) {
          attempts += 1;
          const error = new Error('Rate exceeded');
          error.name = 'Lambda.TooManyRequestsException';
          throw error;
        }
        return tasks.handlers.syncCluster(input);
      },
    };
    const output = await runStateMachine(
      full,
      { mode: 'full' },
      {
        taskHandlers: bindSyncTaskHandlers(full, handlers),
        retryIntervalOverrides: { [SyncStateName.syncCluster]: 0 },
      },
    );
    expect(output).toEqual({ mode: 'full', clusters: 3, ok: 2, failed: 1 });
    expect(attempts).toBe(4);
    const failure = tasks.recorded[0]?.results.find((r) => r.cluster_id === 'lab-b');
    expect(failure).toEqual({ cluster_id: 'lab-b', ok: false, error: THROTTLED_ERROR });
    expect(JSON.stringify(full.States[SyncStateName.syncClusters])).toContain('"SyncClusterThrottled"');
  });

  it('quick sync: every pass syncs every cluster and isolates a failing one', async () => {
    for (const interval of [30]) {
      const { quick } = definitions(interval);
      const tasks = fakeTasks(new Set(['lab-a']));

      await runStateMachine(
        quick,
        { mode: 'quick' },
        {
          taskHandlers: bindSyncTaskHandlers(quick, tasks.handlers),
          waitTimeOverrides: waitOverrides(quick),
        },
      );

      const passes = 60 / interval;
      expect(tasks.listed).toEqual([{ mode: 'quick' }]);
      expect(tasks.recorded).toHaveLength(passes);
      for (const run of tasks.recorded) {
        expect(run.mode).toBe('quick');
        expect(run.results.map((r) => [r.cluster_id, r.ok])).toEqual([
          ['lab-a', false],
          ['lab-b', true],
          ['lab-c', true],
        ]);
      }
      expect(tasks.synced.filter((s) => s.cluster_id === 'lab-b')).toHaveLength(passes);
      expect(tasks.synced.every((s) => s.mode === 'quick')).toBe(true);
    }
  });

  it('quick sync: a failed RecordRun does not cancel the passes still to come', async () => {
    const { quick } = definitions(30);
    const tasks = fakeTasks(new Set(), { failRecordRunCalls: [1] });

    await runStateMachine(
      quick,
      { mode: 'quick' },
      {
        taskHandlers: bindSyncTaskHandlers(quick, tasks.handlers),
        waitTimeOverrides: waitOverrides(quick),
      },
    );

    expect(tasks.synced).toHaveLength(6);
    expect(tasks.recorded.at(-1)?.results).toHaveLength(3);
  });

  it('refuses to run a definition with an unbound Task state', async () => {
    const { full } = definitions();
    await expect(runStateMachine(full, { mode: 'full' }, { taskHandlers: {} })).rejects.toThrow(
      /no local handler/,
    );
  });
});

import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitStateNames } from '#local/stack/sync-runner.ts';
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
  const synced: { cluster_id: string; mode: string; manual?: boolean }[] = [];
  const recorded: RecordRunInput[] = [];
  const listed: unknown[] = [];
  const handlers = {
    listClusters: async (input: unknown): Promise<ListClustersOutput> => {
      listed.push(input);
      const { mode, manual } = parseTaskPayload(ListClustersInputSchema, input, 'ListClusters input');
      return {
        mode,
        clusters: CLUSTERS.map((cluster_id) => ({ cluster_id, mode, manual: manual === true })),
      };
    },
    syncCluster: async (input: unknown): Promise<SyncSummary> => {
      const { cluster_id, mode, manual } = parseTaskPayload(
        SyncClusterInputSchema,
        input,
        'SyncCluster input',
      );
      if (failing.has(cluster_id)) throw new Error(`cluster ${cluster_id} exploded`);
      synced.push({ cluster_id, mode, ...(manual === undefined ? {} : { manual }) });
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
  const names = waitStateNames(definition);
  expect(names.length).toBeGreaterThan(0);
  return Object.fromEntries(names.map((name) => [name, 1]));
}

type JsonState = { Type?: string; ItemProcessor?: { States: Record<string, JsonState> } } & Record<
  string,
  unknown
>;

/** The quick machine's Map and the states of its iteration. */
function quickIteration(definition: StateMachineDefinition) {
  const map = (definition.States as Record<string, JsonState>)[SyncStateName.quickClusters];
  if (map?.ItemProcessor === undefined) throw new Error('no quick Map');
  return { map, states: map.ItemProcessor.States };
}

describe('quick-sync settings that cannot fit', () => {
  it('are refused at synth, naming the setting', () => {
    for (const interval of [15, 20]) {
      expect(() => synthesizeSyncDefinitions({ config: { quickSyncSeconds: interval } })).toThrow(
        new RegExp(`pveInventory\\.quickSyncSeconds: ${interval} s cannot fit .*Use quickSyncSeconds: 30`),
      );
    }
  }, 120_000);
});

describe('sync state machine definitions', () => {
  const byInterval = new Map<number, SyncDefinitions>();

  beforeAll(() => {
    for (const interval of [30]) {
      byInterval.set(interval, synthesizeSyncDefinitions({ config: { quickSyncSeconds: interval } }));
    }
  }, SYNTH_TIMEOUT);

  function definitions(interval = 30): SyncDefinitions {
    const found = byInterval.get(interval);
    if (!found) throw new Error(`no definitions for ${interval}`);
    return found;
  }

  it('are valid ASL (asl-validator) for every quick-sync interval, and validation leaves them untouched', () => {
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

  it('runs 60/interval quick passes per cluster, inside one Map iteration per cluster, within a minute', () => {
    for (const [interval, passes] of [[30, 2]] as const) {
      const { quick } = definitions(interval);
      const maps = Object.values(quick.States).filter((state) => state.Type === 'Map');
      expect(maps).toHaveLength(1);
      const { map, states } = quickIteration(quick);
      // Every cluster needs its own slot: an iteration lasts the whole execution.
      expect(map).toMatchObject({ ItemsPath: '$.clusters', MaxConcurrency: 40 });
      const tasks = Object.entries(states).filter(([, state]) => state.Type === 'Task');
      const waits = Object.values(states).filter((state) => state.Type === 'Wait');
      expect(tasks.map(([name]) => name).sort()).toEqual(
        Array.from({ length: passes }, (_, i) => `${SyncStateName.syncCluster}${i + 1}`).sort(),
      );
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

  it('quick sync: every pass syncs every cluster and isolates a failing one', async () => {
    for (const interval of [30]) {
      const { quick } = definitions(interval);
      const tasks = fakeTasks(new Set(['lab-a']));

      const output = await runStateMachine(
        quick,
        { mode: 'quick' },
        {
          taskHandlers: bindSyncTaskHandlers(quick, tasks.handlers),
          waitTimeOverrides: waitOverrides(quick),
        },
      );

      const passes = 60 / interval;
      expect(tasks.listed).toEqual([{ mode: 'quick' }]);
      // One record per execution, with each cluster's last pass.
      expect(tasks.recorded).toHaveLength(1);
      expect(tasks.recorded[0]?.mode).toBe('quick');
      expect(tasks.recorded[0]?.results.map((r) => [r.cluster_id, r.ok])).toEqual([
        ['lab-a', false],
        ['lab-b', true],
        ['lab-c', true],
      ]);
      expect(tasks.recorded[0]?.results[0]).toMatchObject({
        error: expect.stringContaining('lab-a exploded'),
      });
      expect(output).toEqual({ mode: 'quick', clusters: 3, ok: 2, failed: 1 });
      expect(tasks.synced.filter((s) => s.cluster_id === 'lab-b')).toHaveLength(passes);
      expect(tasks.synced.filter((s) => s.cluster_id === 'lab-c')).toHaveLength(passes);
      expect(tasks.synced.every((s) => s.mode === 'quick')).toBe(true);
    }
  });

  it("quick sync: a manual run's first pass is manual (runs through a backoff), the later passes are not", async () => {
    const { quick } = definitions(30);
    const tasks = fakeTasks(new Set());
    await runStateMachine(
      quick,
      { mode: 'quick', cluster_id: 'lab-b', manual: true },
      { taskHandlers: bindSyncTaskHandlers(quick, tasks.handlers), waitTimeOverrides: waitOverrides(quick) },
    );
    expect(tasks.synced.filter((s) => s.cluster_id === 'lab-b')).toEqual([
      { cluster_id: 'lab-b', mode: 'quick', manual: true },
      { cluster_id: 'lab-b', mode: 'quick' },
    ]);
  });

  it("quick sync: a cluster that hangs does not hold the other clusters' passes", async () => {
    const { quick } = definitions(30);
    const tasks = fakeTasks(new Set());
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let hangingCalls = 0;
    const handlers = {
      ...tasks.handlers,
      syncCluster: async (input: unknown) => {
        const { cluster_id } = parseTaskPayload(SyncClusterInputSchema, input, 'SyncCluster input');
        if (cluster_id === 'lab-a') {
          hangingCalls += 1;
          await released;
        }
        return tasks.handlers.syncCluster(input);
      },
    };
    const run = runStateMachine(
      quick,
      { mode: 'quick' },
      { taskHandlers: bindSyncTaskHandlers(quick, handlers), waitTimeOverrides: waitOverrides(quick) },
    );
    // While lab-a's first pass is still hanging, lab-b and lab-c finish both passes.
    const passes = 2;
    const deadline = Date.now() + 20_000;
    while (
      tasks.synced.filter((s) => s.cluster_id !== 'lab-a').length < 2 * passes &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(hangingCalls).toBe(1);
    expect(tasks.synced.filter((s) => s.cluster_id === 'lab-b')).toHaveLength(passes);
    expect(tasks.synced.filter((s) => s.cluster_id === 'lab-c')).toHaveLength(passes);
    expect(tasks.synced.filter((s) => s.cluster_id === 'lab-a')).toHaveLength(0);
    release();
    await expect(run).resolves.toEqual({ mode: 'quick', clusters: 3, ok: 3, failed: 0 });
    expect(tasks.synced.filter((s) => s.cluster_id === 'lab-a')).toHaveLength(passes);
  });

  it('refuses to run a definition with an unbound Task state', async () => {
    const { full } = definitions();
    await expect(runStateMachine(full, { mode: 'full' }, { taskHandlers: {} })).rejects.toThrow(
      /no local handler/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { countTransitions, UnwalkableDefinitionError } from '../../../../bench/lib/asl-transitions.ts';

const mapOf = (name: string, next: string | null) => ({
  Type: 'Map',
  ItemProcessor: {
    StartAt: 'SyncCluster',
    States: { SyncCluster: { Type: 'Task', Resource: 'arn', End: true } },
  },
  ...(next === null ? { End: true } : { Next: next }),
  Comment: name,
});

describe('countTransitions', () => {
  it('counts every state entered, including each Map iteration', () => {
    const full = {
      StartAt: 'ListClusters',
      States: {
        ListClusters: { Type: 'Task', Next: 'SyncClusters' },
        SyncClusters: mapOf('map', 'RecordRun'),
        RecordRun: { Type: 'Task', End: true },
      },
    };
    // ListClusters + Map + 5 × SyncCluster + RecordRun
    expect(countTransitions(full, 5)).toBe(8);
  });

  it('follows Wait and ends at Succeed (the quick sync’s two passes)', () => {
    const quick = {
      StartAt: 'ListClusters',
      States: {
        ListClusters: { Type: 'Task', Next: 'Pass1' },
        Pass1: mapOf('1', 'Record1'),
        Record1: { Type: 'Task', Next: 'Wait' },
        Wait: { Type: 'Wait', Seconds: 30, Next: 'Pass2' },
        Pass2: mapOf('2', 'Record2'),
        Record2: { Type: 'Task', Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    // 1 + (1 + 5 + 1) + 1 + (1 + 5 + 1) + 1
    expect(countTransitions(quick, 5)).toBe(17);
  });

  it('takes the Default branch of a Choice', () => {
    const def = {
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'A' }], Default: 'B' },
        A: { Type: 'Pass', Next: 'B' },
        B: { Type: 'Pass', End: true },
      },
    };
    expect(countTransitions(def, 1)).toBe(2);
  });

  it('refuses a definition that names a missing state or never ends', () => {
    expect(() => countTransitions({ StartAt: 'X', States: {} }, 1)).toThrow(UnwalkableDefinitionError);
    const loop = { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'A' } } };
    expect(() => countTransitions(loop, 1)).toThrow(UnwalkableDefinitionError);
    expect(() => countTransitions('nope', 1)).toThrow(UnwalkableDefinitionError);
  });
});

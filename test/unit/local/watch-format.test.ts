import { describe, expect, it } from 'vitest';
import { formatLiveMessage } from '#local/cli/watch.ts';

const at = new Date('2026-12-07T10:15:30.000Z');

describe('pve-inventory watch output', () => {
  it('prints a runtime frame as one line with how many VMs moved, and their figures with --verbose', () => {
    const frame = {
      type: 'runtime' as const,
      cluster: 'lab-a',
      version: 42,
      vms: [
        [101, 3.5, 41.2],
        [102, 0, 12],
      ] as [number, number, number][],
    };
    expect(formatLiveMessage(frame, at)).toEqual(['10:15:30 lab-a v42 cpu/memory of 2 VMs']);
    expect(formatLiveMessage(frame, at, { verbose: true })).toEqual([
      '10:15:30 lab-a v42 cpu/memory of 2 VMs: 101 cpu=3.5% mem=41.2%, 102 cpu=0% mem=12%',
    ]);
    expect(formatLiveMessage({ ...frame, vms: [[7, 1, 2]] }, at)).toEqual([
      '10:15:30 lab-a v42 cpu/memory of 1 VM',
    ]);
  });

  it('still prints one line per changed VM of a delta', () => {
    expect(
      formatLiveMessage(
        {
          type: 'delta',
          cluster: 'lab-a',
          version: 43,
          vms: [{ cluster_id: 'lab-a', vmid: 101, status: 'stopped', cpu_usage: 0 }],
          removed: [{ cluster_id: 'lab-a', vmid: 9 }],
        },
        at,
      ),
    ).toEqual(['10:15:30 lab-a/101 v43 status=stopped cpu_usage=0', '10:15:30 lab-a/9 v43 removed']);
  });
});

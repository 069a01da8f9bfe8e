import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listBodyJson, VmJsonCache } from '#shared/api/list-json.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';

/** A VM answer; every string may hold quotes, backslashes, the uptime key itself and non-ASCII text. */
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom(',"uptime":', '","uptime":1,"x":"', '\\', '"', 'é\u2028\u0000', 'vm-1'),
);
const iso = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString());
const apiVm = (cluster_id: string, vmid: number): fc.Arbitrary<ApiVm> =>
  fc.record({
    cluster_id: fc.constant(cluster_id),
    cluster_name: tricky,
    vmid: fc.constant(vmid),
    name: tricky,
    node: tricky,
    type: fc.constantFrom('qemu', 'lxc'),
    category: fc.constantFrom('windows', 'linux', 'other'),
    status: fc.constantFrom('running', 'stopped', 'paused', 'unknown'),
    ip: fc.option(tricky),
    mac: fc.option(tricky),
    memory: fc.integer({ min: 0, max: 1 << 20 }),
    cores: fc.integer({ min: 0, max: 256 }),
    disk_size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    uptime: fc.integer({ min: 0, max: 10 ** 9 }),
    cpu_usage: fc.double({ min: 0, max: 100, noNaN: true }),
    memory_usage: fc.double({ min: 0, max: 100, noNaN: true }),
    is_template: fc.boolean(),
    tags: tricky,
    tag_list: fc.array(tricky, { maxLength: 4 }),
    pool: fc.option(tricky),
    lock: fc.option(tricky),
    hastate: fc.option(tricky),
    rdp_available: fc.boolean(),
    ssh_available: fc.boolean(),
    last_updated: fc.option(iso),
    last_status_check: fc.option(iso),
    details_pending: fc.boolean(),
    sync_error: fc.option(tricky),
    stale: fc.boolean(),
    pending_action: fc.option(fc.constantFrom('start', 'stop', 'shutdown', 'reboot')),
    pending_since: fc.option(iso),
    pending_upid: fc.option(tricky),
    idle_shutdown_at: fc.option(iso),
  }) as unknown as fc.Arbitrary<ApiVm>;

/** A list body as the handler makes it: `vms` first. */
const body = (vms: ApiVm[]) => ({
  vms,
  is_admin: true,
  mode: 'inventory',
  stale: vms.some((vm) => vm.stale),
  refresh: null,
  next_cursor: vms.length > 2 ? 'c"ursor' : null,
  generated_at: '2026-12-07T10:00:00.000Z',
});

describe('the list JSON from kept pieces', () => {
  it('is exactly JSON.stringify of the body, request after request, whatever changed in between', () => {
    const keys = [0, 1, 2, 3].map((i) => ({ cluster: `c${i % 2}`, vmid: 100 + i }));
    // One request's answers, then per later request: for each VM, keep it, move only its uptime,
    // take one field (any) of another answer, or answer it anew.
    const FIELDS = Object.keys(fc.sample(apiVm('c', 1), 1)[0] ?? {}) as (keyof ApiVm)[];
    const move = fc.oneof(fc.constantFrom('same', 'uptime', 'new'), fc.constantFrom(...FIELDS));
    const step = fc.tuple(
      fc.array(move, { minLength: keys.length, maxLength: keys.length }),
      fc.tuple(...keys.map((k) => apiVm(k.cluster, k.vmid))),
      fc.integer({ min: 0, max: 10 ** 9 }),
    );
    fc.assert(
      fc.property(
        fc.tuple(...keys.map((k) => apiVm(k.cluster, k.vmid))),
        fc.array(step, { maxLength: 8 }),
        (first, steps) => {
          const cache = new VmJsonCache();
          let vms: ApiVm[] = [...first];
          expect(listBodyJson(body(vms), cache)).toBe(JSON.stringify(body(vms)));
          for (const [moves, fresh, uptime] of steps) {
            vms = vms.map((vm, i) => {
              const m = moves[i];
              const other = fresh[i];
              if (m === undefined || m === 'same' || other === undefined) return vm;
              if (m === 'uptime') return { ...vm, uptime };
              if (m === 'new') return other;
              return { ...vm, [m]: other[m] };
            });
            const shown = vms.filter((_, i) => i % 2 === 0 || moves[i] !== 'same');
            expect(listBodyJson(body(shown), cache)).toBe(JSON.stringify(body(shown)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reuses a VM whose answer moved only in uptime, and serializes again one whose other fields moved', () => {
    const cache = new VmJsonCache();
    const [vm] = fc.sample(apiVm('lab-a', 101), { numRuns: 1, seed: 7 });
    if (vm === undefined) throw new Error('no sample');
    expect(cache.vmJson(vm)).toBe(JSON.stringify(vm));
    expect(cache.counters).toEqual({ hits: 0, misses: 1 });
    const older = { ...vm, uptime: vm.uptime + 61 };
    expect(cache.vmJson(older)).toBe(JSON.stringify(older));
    expect(cache.counters).toEqual({ hits: 1, misses: 1 });
    // A field changed (here the tags' list, compared by value, and the staleness): written anew.
    const retagged = { ...older, tag_list: [...older.tag_list, 'exam'] };
    expect(cache.vmJson(retagged)).toBe(JSON.stringify(retagged));
    const stale = { ...retagged, stale: !retagged.stale };
    expect(cache.vmJson(stale)).toBe(JSON.stringify(stale));
    expect(cache.counters).toEqual({ hits: 1, misses: 3 });
    // Equal by value, not by identity: a copy of the last answer is a hit.
    expect(cache.vmJson({ ...stale, tag_list: [...stale.tag_list] })).toBe(JSON.stringify(stale));
    expect(cache.counters).toEqual({ hits: 2, misses: 3 });
  });

  it('writes anew a VM whose fields come in another order (the text follows the order)', () => {
    const cache = new VmJsonCache();
    const [vm] = fc.sample(apiVm('lab-a', 101), { numRuns: 1, seed: 3 });
    if (vm === undefined) throw new Error('no sample');
    cache.vmJson(vm);
    const { name, ...rest } = vm;
    const reordered = { ...rest, name } as ApiVm;
    expect(cache.vmJson(reordered)).toBe(JSON.stringify(reordered));
    expect(cache.counters.misses).toBe(2);
  });
});

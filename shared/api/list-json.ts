import type { ApiVm } from '#shared/domain/vm-record.ts';

/**
 * The list's JSON, made from pieces a warm process keeps: a VM's serialized form is reused while
 * every field of it but `uptime` (which changes every second for a running guest) is what it was
 * when it was serialized; only the uptime is written anew. The text is exactly
 * `JSON.stringify(body)` (test/unit/api/list-json.test.ts): same fields, same order, same escapes.
 */

/** What is kept of one VM: its last answer and its JSON around the uptime. */
interface VmJsonEntry {
  readonly vm: ApiVm;
  /** `{…,"uptime":` */
  readonly head: string;
  /** `,…}` after the uptime's digits */
  readonly tail: string;
}

const UPTIME_KEY = ',"uptime":';

/** Whether two answers of a VM are equal in every field but `uptime`. */
function sameButUptime(a: ApiVm, b: ApiVm): boolean {
  const keys = Object.keys(a) as (keyof ApiVm)[];
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  // Same keys in the same order: the serialized text follows the insertion order.
  for (let i = 0; i < keys.length; i++) if (keys[i] !== otherKeys[i]) return false;
  for (const key of keys) {
    if (key === 'uptime') continue;
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** Per-process serialized VMs, by cluster and VMID (bounded: cleared when full). */
export class VmJsonCache {
  private readonly entries = new Map<string, VmJsonEntry>();
  /** hits and misses, for tests and the benchmark */
  readonly counters = { hits: 0, misses: 0 };

  constructor(private readonly maxEntries = 50_000) {}

  /** The JSON of `vm`, from its kept pieces when only its uptime moved. */
  vmJson(vm: ApiVm): string {
    const key = `${vm.cluster_id}#${vm.vmid}`;
    const held = this.entries.get(key);
    if (held !== undefined && typeof vm.uptime === 'number' && sameButUptime(held.vm, vm)) {
      this.counters.hits++;
      return `${held.head}${JSON.stringify(vm.uptime)}${held.tail}`;
    }
    this.counters.misses++;
    const text = JSON.stringify(vm);
    // Inside a JSON string every `"` is escaped, so `,"uptime":` can only be the key itself.
    const at = text.indexOf(UPTIME_KEY);
    if (at === -1 || typeof vm.uptime !== 'number') return text;
    const head = text.slice(0, at + UPTIME_KEY.length);
    const tail = text.slice(head.length + JSON.stringify(vm.uptime).length);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { vm, head, tail });
    return text;
  }
}

/**
 * `JSON.stringify(body)` for a body whose first field is `vms`, with the VMs serialized through
 * `cache`.
 */
export function listBodyJson<T extends { readonly vms: readonly ApiVm[] }>(
  body: T,
  cache: VmJsonCache,
): string {
  const first = Object.keys(body)[0];
  if (first !== 'vms') return JSON.stringify(body);
  const rest = JSON.stringify({ ...body, vms: [] });
  const parts: string[] = [];
  for (const vm of body.vms) parts.push(cache.vmJson(vm));
  return `{"vms":[${parts.join(',')}]${rest.slice('{"vms":[]'.length)}`;
}

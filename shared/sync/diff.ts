import type { StoredVm, StoredVmAttributes } from '#shared/domain/vm-record.ts';

/**
 * Deciding in code what changed, before anything is written: a write refused by DynamoDB still
 * costs a write unit, and a write of equal values costs one for nothing.
 */

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  }
  return a === b;
}

/**
 * The attributes of `desired` whose values differ from `current` (arrays compared element-wise).
 * Undefined desired values mean "not observed" and are left out.
 */
export function diffAttributes(
  current: Readonly<Partial<StoredVmAttributes>>,
  desired: Readonly<Partial<StoredVmAttributes>>,
): Partial<StoredVmAttributes> {
  const changed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    if (!sameValue(Reflect.get(current, name), value)) changed[name] = value;
  }
  return changed;
}

/** A stored VM with changed attributes applied (the state after a successful write). */
export function applyAttributes(vm: StoredVm, set: Readonly<Partial<StoredVmAttributes>>): StoredVm {
  const next: StoredVm = { ...vm };
  for (const [name, value] of Object.entries(set)) {
    if (value !== undefined) Reflect.set(next, name, value);
  }
  return next;
}

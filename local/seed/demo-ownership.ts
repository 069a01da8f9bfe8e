import type { OwnershipRepository } from '#shared/store/ports.ts';

/**
 * The demo ownership `npm start` seeds: students alice and bob in the class "Networking 101"
 * taught by carol, and an admin. alice and bob own VMs on both clusters, including one VMID that
 * exists on both clusters and belongs to alice on one and to bob on the other — the case that
 * leaked VMs across clusters when ownership was keyed by bare VMID.
 */

/**
 * A demo user: name, identity-provider groups (the API's default group names; the local stack
 * issues tokens with the configured names for the role) and role.
 */
export interface DemoUser {
  readonly username: string;
  readonly groups: readonly string[];
  readonly role: 'student' | 'teacher' | 'admin';
}

/** The demo users, in the order they are printed. */
export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'admin', groups: ['admins'], role: 'admin' },
  { username: 'carol', groups: ['teachers'], role: 'teacher' },
  { username: 'alice', groups: [], role: 'student' },
  { username: 'bob', groups: [], role: 'student' },
];

/** The demo class. */
export const DEMO_CLASS = {
  class_id: 'networking-101',
  name: 'Networking 101',
  description: 'Demo class seeded by the local stack',
  owner: 'carol',
} as const;

/** What the seed needs to know about a guest to pick demo VMs. */
export interface DemoGuest {
  readonly cluster_id: string;
  readonly vmid: number;
  readonly type: 'qemu' | 'lxc';
  readonly status: string;
  readonly template: boolean;
  /** Proxmox lock (backup, migrate, …), if any: such guests refuse power actions */
  readonly lock?: string | null;
  /** HA state, if HA-managed: power actions only record an HA request */
  readonly hastate?: string | null;
}

/** A VM chosen for a demo user. */
export interface DemoVm {
  readonly username: string;
  readonly cluster_id: string;
  readonly vmid: number;
  /** `class`: a VM of the demo class assigned to the student; `admin`: assigned directly */
  readonly source: 'class' | 'admin';
}

/** The seed's plan: what to write, plus the VMs worth showing in the printed examples. */
export interface DemoOwnershipPlan {
  readonly vms: readonly DemoVm[];
  /** the VMID assigned to alice on one cluster and to bob on another (null with a single cluster) */
  readonly sharedVmid: number | null;
  /** a stopped VM of alice that a power action can start (null if the fleet has none) */
  readonly aliceStartable: { cluster_id: string; vmid: number } | null;
}

/** Guests a student can be given and act on: no templates, no locked or HA-managed guests. */
function isPlain(guest: DemoGuest): boolean {
  return !guest.template && !guest.lock && !guest.hastate;
}

const byVmid = (a: DemoGuest, b: DemoGuest): number => a.vmid - b.vmid;

/**
 * Picks the demo VMs from a fleet, deterministically (lowest VMIDs first):
 * - the lowest VMID that is a plain guest on the first two clusters → alice on the first, bob on the second (class VMs);
 * - a stopped QEMU guest on the first cluster → alice (admin assignment; the VM to start in the demo);
 * - one more guest on the second cluster → alice, and one on the first → bob (admin assignments).
 */
export function planDemoOwnership(guests: readonly DemoGuest[]): DemoOwnershipPlan {
  const clusterIds = [...new Set(guests.map((g) => g.cluster_id))].sort();
  const plainOf = (clusterId: string | undefined): DemoGuest[] =>
    guests.filter((g) => g.cluster_id === clusterId && isPlain(g)).sort(byVmid);
  const first = plainOf(clusterIds[0]);
  const second = plainOf(clusterIds[1]);
  const used = new Set<string>();
  const keyOf = (g: { cluster_id: string; vmid: number }) => `${g.cluster_id}/${g.vmid}`;
  const vms: DemoVm[] = [];
  const take = (
    guest: DemoGuest | undefined,
    username: string,
    source: DemoVm['source'],
  ): DemoGuest | null => {
    if (guest === undefined) return null;
    used.add(keyOf(guest));
    vms.push({ username, cluster_id: guest.cluster_id, vmid: guest.vmid, source });
    return guest;
  };
  const free = (list: DemoGuest[], wanted: (g: DemoGuest) => boolean = () => true) =>
    list.find((g) => !used.has(keyOf(g)) && wanted(g));

  let sharedVmid: number | null = null;
  const secondVmids = new Set(second.map((g) => g.vmid));
  const shared = first.find((g) => secondVmids.has(g.vmid));
  if (shared !== undefined) {
    sharedVmid = shared.vmid;
    take(shared, 'alice', 'class');
    take(
      second.find((g) => g.vmid === shared.vmid),
      'bob',
      'class',
    );
  }
  const startable = take(
    free(first, (g) => g.type === 'qemu' && g.status === 'stopped'),
    'alice',
    'admin',
  );
  take(
    free(second, (g) => g.status === 'running'),
    'alice',
    'admin',
  );
  take(
    free(first, (g) => g.status === 'running'),
    'bob',
    'admin',
  );
  return {
    vms,
    sharedVmid,
    aliceStartable: startable === null ? null : { cluster_id: startable.cluster_id, vmid: startable.vmid },
  };
}

/**
 * Writes the demo class (carol teaches, alice and bob attend) and the plan's VMs through the
 * ownership repository. Idempotent: running it on every start rewrites the same items.
 */
export async function seedDemoOwnership(
  ownership: OwnershipRepository,
  plan: DemoOwnershipPlan,
  nowMs: number,
): Promise<void> {
  await ownership.putClass({ ...DEMO_CLASS, created_at: nowMs });
  await ownership.addClassMember(DEMO_CLASS.class_id, 'carol', 'teacher');
  await ownership.addClassMember(DEMO_CLASS.class_id, 'alice', 'student');
  await ownership.addClassMember(DEMO_CLASS.class_id, 'bob', 'student');
  for (const vm of plan.vms.filter((v) => v.source === 'class')) {
    await ownership.assignClassVm(
      DEMO_CLASS.class_id,
      { cluster_id: vm.cluster_id, vmid: vm.vmid },
      vm.username,
      nowMs,
    );
  }
  await ownership.putAssignments(
    plan.vms
      .filter((v) => v.source === 'admin')
      .map((v) => ({
        username: v.username,
        cluster_id: v.cluster_id,
        vmid: v.vmid,
        source: 'admin' as const,
        created_at: nowMs,
      })),
  );
}

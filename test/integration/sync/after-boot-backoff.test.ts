import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruthGuest } from '#simulator/index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/*
 * After a boot the guest agent needs tens of seconds before it answers. The quick passes ask a
 * booted guest for its address with a growing backoff (pauses of about 5, 10, 20, 40 s) for two
 * minutes, then leave it to the full sync — not at every pass. The simulator's agents answer only
 * AGENT_START after the boot; the test moves the sync's and the simulator's clocks together and
 * runs a quick pass every 5 s (as frequent refreshes would).
 */

let h: SyncHarness;
const CLUSTER = 'sim-1';
const PASS = 5_000;
const AGENT_START = 50_000;

beforeAll(async () => {
  h = await startSyncHarness('after-boot', {
    clusters: 1,
    guestsPerCluster: 40,
    // Uptime moves with the clock only when the statistics drift (else it stays at its start value).
    drift: true,
    agentStartDelayMs: AGENT_START,
  });
  expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' })).summary.ok).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

/**
 * A QEMU guest (not a template) whose agent is in the given mode, stopped (by the simulator and in
 * the table) if it ran.
 */
async function stoppedGuest(agent: GroundTruthGuest['agent']): Promise<GroundTruthGuest> {
  const guest = h.sim
    .groundTruth(CLUSTER)
    .find((g) => g.type === 'qemu' && !g.template && g.agent === agent && g.status !== 'paused');
  if (!guest) throw new Error(`no qemu guest with agent ${String(agent)}`);
  if (guest.status !== 'stopped') {
    h.sim.setGuestStatus(CLUSTER, guest.vmid, 'stopped');
    await h.sim.settled();
    await h.tick(PASS);
    expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' })).summary.ok).toBe(
      true,
    );
  }
  return guest;
}

/**
 * Starts the guest, then runs a quick pass every {@link PASS} for `forMs`: the times (ms after the
 * start) of the passes that asked its agent, and when its stored IP became `ip` (null: never).
 */
async function passesAfterStart(
  vmid: number,
  forMs: number,
  ip: string | null,
): Promise<{ asked: number[]; ipAt: number | null }> {
  h.sim.setGuestStatus(CLUSTER, vmid, 'running');
  await h.sim.settled();
  const asked: number[] = [];
  let ipAt: number | null = null;
  for (let elapsed = PASS; elapsed <= forMs; elapsed += PASS) {
    await h.tick(PASS);
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary.ok).toBe(true);
    // Only this guest booted recently and no guest's details are pending: every agent call is its.
    if (result.calls.agent > 0) asked.push(elapsed);
    const stored = await h.repositories.inventory.getVm({ cluster_id: CLUSTER, vmid });
    if (ipAt === null && ip !== null && stored?.ip === ip) ipAt = elapsed;
  }
  return { asked, ipAt };
}

const gapsOf = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] ?? 0));

describe('the address of a started VM', () => {
  it('is asked with a growing backoff until the late agent answers, then no more', async () => {
    const guest = await stoppedGuest('running');
    // It boots with an address the table has never seen (a new DHCP lease).
    const newIp = '127.201.0.9';
    h.sim.setGuestIp(CLUSTER, guest.vmid, newIp);
    const { asked, ipAt } = await passesAfterStart(guest.vmid, 130_000, newIp);

    // The first pass after the boot asks at once; the next ones wait longer and longer.
    expect(asked[0]).toBe(PASS);
    const gaps = gapsOf(asked);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(PASS);
    expect(gaps).toEqual([...gaps].sort((a, b) => a - b));
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(20_000);
    // 26 passes, the agent up after 10 of them: a handful of asks, not one per pass.
    expect(asked.length).toBeLessThanOrEqual(5);
    // The address arrived with the last ask (once the agent ran), and nothing was asked after it.
    expect(ipAt).not.toBeNull();
    expect(ipAt).toBeGreaterThanOrEqual(AGENT_START);
    expect(asked.at(-1)).toBe(ipAt);
  });

  it('is left to the full sync two minutes after the boot when the agent never answers', async () => {
    const guest = await stoppedGuest('not-running');
    const { asked } = await passesAfterStart(guest.vmid, 180_000, null);

    expect(asked[0]).toBe(PASS);
    const gaps = gapsOf(asked);
    expect(gaps).toEqual([...gaps].sort((a, b) => a - b));
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(20_000);
    // Within the two-minute window only (its boot time is known to the second).
    expect(asked.at(-1)).toBeLessThanOrEqual(121_000);
    expect(asked.length).toBeLessThanOrEqual(7);
  });
});

import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack/index.ts';
import { eventually, type PortalHarness, SCREENSHOTS, startPortalHarness } from './portal-harness.ts';

/**
 * The portal in a real Chromium against the real local stack (DynamoDB Local, the simulator, the
 * state machines, the gateway serving the built SPA and the local OIDC issuer): sign-in with code +
 * PKCE, what each user sees, search, a power action from pending to confirmed, an admin's sync and
 * a cluster outage turning into a stale banner, sign-out, and an accessibility scan. The tests take
 * the README's screenshots.
 */

let harness: PortalHarness;
let stack: LocalStack;

const signIn = (username: string, path = '/') => harness.signIn(username, { path });
const countText = (page: Page) => page.locator('p.count').textContent();
const guestName = (clusterId: string, vmid: number) => harness.guestName(clusterId, vmid);
const ownedBy = (username: string) => harness.ownedBy(username);

beforeAll(async () => {
  harness = await startPortalHarness();
  stack = harness.stack;
});

afterAll(async () => {
  await harness?.stop();
});

describe('the portal in Chromium', () => {
  it('signs alice in with code + PKCE, shows exactly her VMs, and no token in the URL or storage', async () => {
    const page = await signIn('alice');
    const mine = ownedBy('alice');
    await eventually(async () => expect(await countText(page)).toBe(`${mine.length} VMs`));
    for (const vm of mine) {
      await page
        .getByRole('cell', { name: guestName(vm.cluster_id, vm.vmid), exact: true })
        .first()
        .waitFor();
    }
    expect(page.url()).toBe(`${stack.apiUrl}/`);
    // Evaluated in the page (this project's tsconfig has no DOM types): both web storages.
    const stored = String(
      await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })'),
    );
    expect(stored).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    await page.screenshot({ path: join(SCREENSHOTS, 'my-vms.png') });
  });

  it("serves the production build of the portal (never React's development build)", async () => {
    const page = await harness.newContext().then((context) => context.newPage());
    const scripts: string[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'script') scripts.push(response.url());
    });
    await page.goto(`${stack.apiUrl}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(scripts.length).toBeGreaterThan(0);
    for (const url of scripts) {
      const body = await (await fetch(url)).text();
      // A string only React's development build carries (its owner-stack frames).
      expect(body, url).not.toContain('react-stack-top-frame');
    }
  });

  it('narrows the list as alice types, without asking the API, and keeps the search in the URL', async () => {
    const page = await signIn('alice');
    const mine = ownedBy('alice');
    const first = mine[0];
    if (first === undefined) throw new Error('alice has no VM');
    const name = guestName(first.cluster_id, first.vmid);
    await eventually(async () => expect(await countText(page)).toBe(`${mine.length} VMs`));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.getByRole('searchbox', { name: 'Search' }).fill(name);
    const matching = mine.filter((vm) =>
      guestName(vm.cluster_id, vm.vmid).toLowerCase().includes(name.toLowerCase()),
    );
    await eventually(
      async () => expect(await countText(page)).toBe(`${matching.length} of ${mine.length} VMs`),
      2_000,
    );
    expect(new URL(page.url()).searchParams.get('q')).toBe(name);
    expect(requests.filter((url) => url.includes('search='))).toEqual([]);
  });

  it('starts a stopped VM: pending at once, then running, confirmed by the simulator', async () => {
    const startable = stack.demo?.aliceStartable;
    if (startable === null || startable === undefined) throw new Error('no startable VM for alice');
    const name = guestName(startable.cluster_id, startable.vmid);
    const page = await signIn('alice', `/?q=${encodeURIComponent(name)}`);
    const row = page.getByRole('row', { name: new RegExp(name) }).first();
    await row.getByRole('button', { name: `Start ${name}`, exact: true }).click();
    await row.getByText(/^starting…$/).waitFor({ timeout: 10_000 });
    await row.getByText(/^running$/).waitFor({ timeout: 30_000 });
    const guest = stack.simulator?.groundTruth(startable.cluster_id).find((g) => g.vmid === startable.vmid);
    expect(guest?.status).toBe('running');
    await row.getByRole('button', { name: `Shut down ${name}`, exact: true }).waitFor();
    await row.getByRole('button', { name: `More actions for ${name}` }).click();
    await row.getByRole('menuitem', { name: `Force stop ${name}`, exact: true }).waitFor();
  });

  it('keeps every power action reachable at 1,440 px (no sideways scrolling) and at phone width', async () => {
    const serious = (violations: { id: string; impact?: string | null }[]) =>
      violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    const running = (username: string) => {
      const vm = ownedBy(username).find(
        (v) =>
          stack.simulator?.groundTruth(v.cluster_id).find((g) => g.vmid === v.vmid)?.status === 'running' &&
          !(
            v.cluster_id === stack.demo?.aliceStartable?.cluster_id &&
            v.vmid === stack.demo?.aliceStartable?.vmid
          ),
      );
      if (vm === undefined) throw new Error(`${username} has no running VM`);
      return guestName(vm.cluster_id, vm.vmid);
    };
    /** Opens the row's More menu and checks that the button and every entry lie inside the window. */
    const reachAll = async (page: Page, name: string, width: number) => {
      const row = page.getByRole('row', { name: new RegExp(name) }).first();
      const primary = row.getByRole('button', { name: `Shut down ${name}`, exact: true });
      await primary.scrollIntoViewIfNeeded();
      const inside = async (box: { x: number; width: number } | null) => {
        expect(box).not.toBeNull();
        expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= width).toBe(true);
      };
      await inside(await primary.boundingBox());
      await row.getByRole('button', { name: `More actions for ${name}` }).click();
      for (const action of ['Reboot', 'Force stop']) {
        const item = row.getByRole('menuitem', { name: `${action} ${name}`, exact: true });
        await item.waitFor();
        await inside(await item.boundingBox());
      }
    };

    const admin = await signIn('admin', '/admin/vms');
    await admin.locator('p.count').waitFor();
    const overflow = await admin
      .locator('.vm-grid')
      .evaluate((grid) => ({ scroll: grid.scrollWidth, client: grid.clientWidth }));
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.client);
    await reachAll(admin, running('bob'), 1440);
    expect(
      serious((await new AxeBuilder({ page: admin }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations),
    ).toEqual([]);
    await admin.keyboard.press('Escape');

    const phone = await harness.signIn('alice', { viewport: { width: 390, height: 844 } });
    await phone.locator('p.count').waitFor();
    await reachAll(phone, running('alice'), 390);
    await phone.screenshot({ path: join(SCREENSHOTS, 'phone-actions-menu.png') });
  });

  it("draws a running VM's CPU and memory history from the quick passes, with an accessible summary", async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    const running = ownedBy('alice').find(
      (v) => simulator.groundTruth(v.cluster_id).find((g) => g.vmid === v.vmid)?.status === 'running',
    );
    if (running === undefined) throw new Error('alice has no running VM');
    // The first quick pass of a minute writes its bucket: wait for one that holds this VM.
    await eventually(async () => {
      const buckets = await stack.repositories.history.queryBuckets(
        running.cluster_id,
        '1m',
        Date.now() - 3_600_000,
        Date.now(),
      );
      expect(buckets.some((b) => b.guests.has(running.vmid))).toBe(true);
    }, 90_000);
    const name = guestName(running.cluster_id, running.vmid);
    const page = await signIn('alice', `/?q=${encodeURIComponent(name)}`);
    const row = page.getByRole('row', { name: new RegExp(name) }).first();
    await row.getByRole('button', { name: `CPU and memory history of ${name}` }).click();
    const dialog = page.getByRole('dialog', { name: `History of ${name}` });
    const chart = dialog.getByRole('img', {
      name: new RegExp(`CPU and memory use of ${name}, last hour: CPU average`),
    });
    await chart.waitFor();
    expect(await chart.locator('polyline').count()).toBeGreaterThanOrEqual(3);
    // The CPU line is drawn, not only present (a lone bucket spans its minute).
    const line = await chart.locator('polyline.history-cpu').first().boundingBox();
    expect(line?.width ?? 0).toBeGreaterThan(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'vm-history.png') });
    await dialog.getByRole('radio', { name: 'Last 14 days' }).check();
    await dialog
      .getByText(/No history for last 14 days|CPU average/)
      .first()
      .waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it("does not show bob alice's VMs, and the API refuses bob's action on one", async () => {
    const page = await signIn('bob');
    const bobs = ownedBy('bob');
    await eventually(async () => expect(await countText(page)).toBe(`${bobs.length} VMs`));
    const alices = ownedBy('alice');
    for (const vm of alices) {
      const name = guestName(vm.cluster_id, vm.vmid);
      if (bobs.some((b) => guestName(b.cluster_id, b.vmid) === name)) continue;
      expect(await page.getByRole('cell', { name, exact: true }).count()).toBe(0);
    }
    const target = alices[0];
    if (target === undefined) throw new Error('alice has no VM');
    const answer = await fetch(`${stack.apiUrl}/api/vm/${target.vmid}/stop?cluster=${target.cluster_id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.tokens.bob}` },
    });
    expect([403, 404]).toContain(answer.status);
  });

  it('shows the admin every cluster, triggers a sync, and turns a cluster outage into a stale banner and back', async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    const page = await signIn('admin', '/admin/vms');
    const total = simulator.clusters.reduce((sum, c) => sum + simulator.groundTruth(c.id).length, 0);
    await eventually(async () => expect(await countText(page)).toBe(`${total} VMs`));
    const clusterOptions = await page
      .getByRole('combobox', { name: 'Cluster' })
      .locator('option')
      .allInnerTexts();
    for (const cluster of simulator.clusters) expect(clusterOptions).toContain(cluster.name);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-all-vms.png') });

    await page.getByRole('link', { name: 'Sync health' }).click();
    await page.getByRole('button', { name: 'Quick sync all' }).click();
    await page.getByText(/Quick sync of all clusters (started|already running)/).waitFor();

    const down = simulator.clusters[1];
    if (down === undefined) throw new Error('one cluster only');
    simulator.faults.setClusterDown(down.id, true);
    try {
      // The sync health page names the failing cluster's errors, backoff and last error.
      const row = page.getByRole('row', { name: new RegExp(`^${down.name}`) });
      await eventually(async () => {
        const cells = await row.getByRole('cell').allInnerTexts();
        expect(Number(cells[2])).toBeGreaterThanOrEqual(1);
        expect(cells[3]).toMatch(/^(none|for \d+ (s|min|h))$/);
        expect(cells[4]).not.toBe('none');
        expect(cells[4]?.length ?? 0).toBeGreaterThan(0);
      }, 40_000);
      await page.screenshot({ path: join(SCREENSHOTS, 'admin-sync-health.png') });

      await page.getByRole('link', { name: 'All VMs' }).click();
      const banner = page.getByText(/Stale data/);
      await banner.waitFor({ timeout: 40_000 });
      expect(await banner.locator('..').textContent()).toContain(down.name);
      await page.screenshot({ path: join(SCREENSHOTS, 'admin-stale-banner.png') });
    } finally {
      simulator.faults.setClusterDown(down.id, false);
    }
    await page.getByText(/Stale data/).waitFor({ state: 'detached', timeout: 40_000 });
  });

  it('has no serious accessibility violations on the sign-in page and the VM list', async () => {
    const context = await harness.newContext();
    const signInPage = await context.newPage();
    await signInPage.goto(stack.apiUrl);
    await signInPage.getByRole('heading', { name: 'Sign in' }).waitFor();
    const serious = (violations: { id: string; impact?: string | null }[]) =>
      violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    expect(
      serious(
        (await new AxeBuilder({ page: signInPage }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations,
      ),
    ).toEqual([]);

    const page = await signIn('carol');
    await page.locator('p.count').waitFor();
    expect(
      serious((await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations),
    ).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, 'phone.png') });
  });

  it('signs out: the next visit asks who is signing in again', async () => {
    const page = await signIn('alice');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/auth/authorize');
  });
});

describe('live updates in Chromium', () => {
  it('shows a status change made on the simulator in the open page without asking for the list again', async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    // One of bob's VMs (no other test acts on his).
    const vm = ownedBy('bob')[0];
    if (vm === undefined) throw new Error('bob has no VM');
    const name = guestName(vm.cluster_id, vm.vmid);
    const page = await signIn('bob', `/?q=${encodeURIComponent(name)}`);
    const row = page.getByRole('row', { name: new RegExp(name) }).first();
    await row.waitFor();
    // The list says it is live once the socket's hello came (the first load follows it).
    await page.getByText(/· live/).waitFor({ timeout: 10_000 });
    const before = simulator.guest(vm.cluster_id, vm.vmid)?.status;
    await row.getByText(new RegExp(`^${before}$`)).waitFor();

    const listRequests: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (request.method() === 'GET' && url.pathname === '/api/vms') listRequests.push(url.href);
    });
    const after = before === 'running' ? 'stopped' : 'running';
    simulator.setGuestStatus(vm.cluster_id, vm.vmid, after);
    // A quick pass writes the change, the stream carries it, the socket pushes it to the page.
    await row.getByText(new RegExp(`^${after}$`)).waitFor({ timeout: 30_000 });
    expect(listRequests).toEqual([]);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, PROJECT_ROOT, startLocalStack } from '#local/stack/index.ts';
import { ensurePortalBuilt } from '#local/web/build-portal.ts';
import { launchChromium } from './chromium.ts';

/**
 * The portal in a real Chromium against the real local stack (DynamoDB Local, the simulator, the
 * state machines, the gateway serving the built SPA and the local OIDC issuer): sign-in with code +
 * PKCE, what each user sees, search, a power action from pending to confirmed, an admin's sync and
 * a cluster outage turning into a stale banner, sign-out, and an accessibility scan. The tests take
 * the README's screenshots.
 */

let stack: LocalStack;
let browser: Browser;
let dataDir: string;
const contexts: BrowserContext[] = [];
const SCREENSHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes (assertions inside), failing with its last error after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

async function signIn(username: string, path = '/'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${stack.apiUrl}${path}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: username, exact: true }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
  return page;
}

const countText = (page: Page) => page.locator('p.count').textContent();

function guestName(clusterId: string, vmid: number): string {
  const guest = stack.simulator?.groundTruth(clusterId).find((g) => g.vmid === vmid);
  if (guest === undefined) throw new Error(`no simulator guest ${clusterId}/${vmid}`);
  return guest.name;
}

function ownedBy(username: string) {
  const demo = stack.demo;
  if (demo === null) throw new Error('no demo ownership');
  return demo.vms.filter((v) => v.username === username);
}

beforeAll(async () => {
  // Always from the current sources: a stale web/dist would test (and photograph) old code.
  await ensurePortalBuilt({ force: true });
  browser = await launchChromium();
  dataDir = mkdtempSync(join(tmpdir(), 'pve-browser-'));
  const probeBase = 20_000 + Math.floor(Math.random() * 20_000);
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `browser-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 40,
      seed: 7,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
      taskDelayMs: 3_000,
    },
    fullIntervalMs: 600_000,
    quickIntervalMs: 1_000,
    staleAfterMs: 5_000,
    healthMaxConsecutiveErrors: 1,
    logLevel: 'SILENT',
    publishState: false,
    // The action answers 202 (pending) before the task ends, so the portal must confirm by polling.
    environment: { ACTION_WAIT_SECONDS: '1' },
  });
  await stack.firstSync;
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
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
    await row.getByRole('button', { name: `Force stop ${name}`, exact: true }).waitFor();
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
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-sync-health.png') });

    const down = simulator.clusters[1];
    if (down === undefined) throw new Error('one cluster only');
    simulator.faults.setClusterDown(down.id, true);
    try {
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
    const context = await browser.newContext();
    contexts.push(context);
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

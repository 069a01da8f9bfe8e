import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type PortalHarness, SCREENSHOTS, startPortalHarness } from './portal-harness.ts';

/**
 * Ownership editing in a real Chromium against the real local stack (its own stack: these tests
 * change who sees what): an admin creates a class, adds a student and a VM for them, and the
 * student then sees that VM; the class's teacher adds a member; an admin assigns a VM directly and
 * removes the assignment after confirming. The pages pass the accessibility scan.
 */

let harness: PortalHarness;

beforeAll(async () => {
  harness = await startPortalHarness();
});

afterAll(async () => {
  await harness?.stop();
});

const serious = (violations: { id: string; impact?: string | null }[]) =>
  violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);

/** A guest of the first cluster that no demo user owns (no templates, nothing locked). */
function unownedGuest(skip: readonly number[] = []) {
  const { stack } = harness;
  const cluster = stack.simulator?.clusters[0];
  if (cluster === undefined || stack.demo === null) throw new Error('no simulator or demo');
  const owned = new Set(stack.demo.vms.filter((v) => v.cluster_id === cluster.id).map((v) => v.vmid));
  const guest = stack.simulator
    ?.groundTruth(cluster.id)
    .find((g) => !owned.has(g.vmid) && !skip.includes(g.vmid) && !g.template && !g.lock);
  if (guest === undefined) throw new Error('no unowned guest');
  return { clusterId: cluster.id, vmid: guest.vmid, name: guest.name };
}

const countText = (page: Page) => page.locator('p.count').textContent();
const CLASS = 'Browser Lab';

describe('ownership editing in Chromium', () => {
  it('lets an admin create a class, add a student and a VM for them; the student then sees the VM', async () => {
    const admin = await harness.signIn('admin', { path: '/classes' });
    const create = admin.getByRole('form', { name: 'New class' });
    await create.getByLabel('Class name').fill(CLASS);
    await create.getByLabel('Description').fill('Made by the browser test');
    await create.getByLabel(/^Teachers/).fill('carol');
    await create.getByRole('button', { name: 'Create class' }).click();
    await admin.getByText(`Class ${CLASS} was created.`).waitFor();
    const card = admin.getByRole('region', { name: CLASS });

    const members = card.getByRole('form', { name: `Add a member to ${CLASS}` });
    await members.getByLabel('Username').fill('bob');
    await members.getByRole('button', { name: 'Add member' }).click();
    await card.getByText(`bob is now a student of ${CLASS}.`).waitFor();

    const guest = unownedGuest();
    const vms = card.getByRole('form', { name: `Add a VM to ${CLASS}` });
    await vms.getByLabel('Cluster id').fill(guest.clusterId);
    await vms.getByLabel('VMID').fill(String(guest.vmid));
    await vms.getByLabel('Student').selectOption('bob');
    await vms.getByRole('button', { name: 'Add VM' }).click();
    await card.getByText(`VM ${guest.clusterId}/${guest.vmid} is in ${CLASS}, assigned to bob.`).waitFor();
    await card
      .getByRole('table', { name: 'Class VMs' })
      .getByRole('row', { name: `${guest.clusterId} ${guest.vmid} bob no` })
      .waitFor();
    expect(
      serious((await new AxeBuilder({ page: admin }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations),
    ).toEqual([]);
    await admin.screenshot({ path: join(SCREENSHOTS, 'admin-classes.png'), fullPage: true });

    const bob = await harness.signIn('bob');
    const expected = harness.ownedBy('bob').length + 1;
    await eventually(async () => expect(await countText(bob)).toBe(`${expected} VMs`));
    await bob.getByRole('cell', { name: guest.name, exact: true }).waitFor();
  });

  it('lets the class teacher add a member, and refuses what the API refuses in words', async () => {
    const carol = await harness.signIn('carol', { path: '/classes' });
    const card = carol.getByRole('region', { name: CLASS });
    const members = card.getByRole('form', { name: `Add a member to ${CLASS}` });
    await members.getByLabel('Username').fill('alice');
    await members.getByRole('button', { name: 'Add member' }).click();
    await card.getByText(`alice is now a student of ${CLASS}.`).waitFor();
    await card.getByRole('table', { name: 'Members' }).getByRole('row', { name: 'alice student' }).waitFor();
    // Only admins delete a class: its teacher gets no Delete button.
    expect(await card.getByRole('button', { name: `Delete ${CLASS}` }).count()).toBe(0);

    // A VM carol does not see cannot be brought into her class: the API's 404, in words.
    const hidden = unownedGuest([unownedGuest().vmid]);
    const vms = card.getByRole('form', { name: `Add a VM to ${CLASS}` });
    await vms.getByLabel('Cluster id').fill(hidden.clusterId);
    await vms.getByLabel('VMID').fill(String(hidden.vmid));
    await vms.getByRole('button', { name: 'Add VM' }).click();
    await card
      .getByRole('alert')
      .getByText(
        `VM ${hidden.clusterId}/${hidden.vmid} could not be added. No such VM that you may add, or the class no longer exists.`,
      )
      .waitFor();
  });

  it('lets an admin assign a VM directly and remove the assignment after confirming', async () => {
    const admin = await harness.signIn('admin', { path: '/admin/assignments' });
    const guest = unownedGuest([unownedGuest().vmid]);
    const form = admin.getByRole('form', { name: 'Assign a VM' });
    await form.getByLabel('Username').fill('alice');
    await form.getByLabel('Cluster id').fill(guest.clusterId);
    await form.getByLabel('VMID').fill(String(guest.vmid));
    await form.getByRole('button', { name: 'Assign' }).click();
    const label = `alice → ${guest.clusterId}/${guest.vmid}`;
    await admin.getByText(`Assigned: ${label}.`).waitFor();
    const remove = admin.getByRole('button', { name: `Remove ${label}` });
    await remove.waitFor();
    expect(
      serious((await new AxeBuilder({ page: admin }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations),
    ).toEqual([]);
    await admin.screenshot({ path: join(SCREENSHOTS, 'admin-assignments.png') });

    const questions: string[] = [];
    admin.once('dialog', (dialog) => {
      questions.push(dialog.message());
      void dialog.accept();
    });
    await remove.click();
    await admin.getByText(`Removed: ${label}.`).waitFor();
    expect(questions).toEqual([`Remove the assignment ${label}? alice no longer sees this VM.`]);
    await remove.waitFor({ state: 'detached' });
  });
});

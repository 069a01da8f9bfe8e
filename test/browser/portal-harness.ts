import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { inject } from 'vitest';
import { type LocalStack, PROJECT_ROOT, startLocalStack } from '#local/stack/index.ts';
import { ensurePortalBuilt } from '#local/web/build-portal.ts';
import { launchChromium } from './chromium.ts';
import { type SignInOptions, signIn } from './sign-in.ts';

/**
 * What every portal browser test file needs: the built portal, Chromium, and a real local stack
 * (DynamoDB Local, the simulator on 2 × 40 guests, the state machines, the gateway serving the SPA
 * and the local OIDC issuer) with a fast quick sync; users signed in through the issuer.
 */

/** Where the README's screenshots go. */
export const SCREENSHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes (assertions inside), failing with its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
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

/** A running portal stack with a browser, and the helpers the tests use on it. */
export interface PortalHarness {
  readonly stack: LocalStack;
  readonly browser: Browser;
  /** Signs `username` in (1,440 × 900 unless a viewport is given) on a fresh context, closed at the end. */
  signIn(username: string, options?: SignInOptions): Promise<Page>;
  /** A fresh context (closed at the end). */
  newContext(): Promise<BrowserContext>;
  /** The simulator's name of a guest. */
  guestName(clusterId: string, vmid: number): string;
  /** The demo VMs of a user. */
  ownedBy(username: string): readonly { cluster_id: string; vmid: number }[];
  stop(): Promise<void>;
}

/** Builds the portal from the current sources, launches Chromium and starts the stack (first sync done). */
export async function startPortalHarness(): Promise<PortalHarness> {
  // Built from the current sources by the browser project's global setup (a run of one file
  // without it still gets a build).
  await ensurePortalBuilt();
  const browser = await launchChromium();
  const dataDir = mkdtempSync(join(tmpdir(), 'pve-browser-'));
  const contexts: BrowserContext[] = [];
  const probeBase = 20_000 + Math.floor(Math.random() * 20_000);
  let stack: LocalStack;
  try {
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
  } catch (error) {
    await browser.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    stack,
    browser,
    async signIn(username, options) {
      const { context, page } = await signIn(browser, stack.apiUrl, username, options);
      contexts.push(context);
      return page;
    },
    async newContext() {
      const context = await browser.newContext();
      contexts.push(context);
      return context;
    },
    guestName(clusterId, vmid) {
      const guest = stack.simulator?.groundTruth(clusterId).find((g) => g.vmid === vmid);
      if (guest === undefined) throw new Error(`no simulator guest ${clusterId}/${vmid}`);
      return guest.name;
    },
    ownedBy(username) {
      if (stack.demo === null) throw new Error('no demo ownership');
      return stack.demo.vms.filter((v) => v.username === username);
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as z from 'zod';
import { type LocalStack, PORTAL_DIST_DIR, startLocalStack } from '#local/stack/index.ts';
import { ensurePortalBuilt } from '#local/web/build-portal.ts';
import { launchChromium } from '../../test/browser/chromium.ts';
import { signIn } from '../../test/browser/sign-in.ts';

/**
 * The portal's figures (issue 12): JavaScript the first page loads (gzip), time from navigation to
 * the VM list visible on the local stack (200 guests, admin and student) in headless Chromium, and
 * the time from a search keystroke to the filtered list painted on 2,000 rows.
 */

export interface PortalBenchResult {
  /** gzip bytes of the JavaScript index.html loads (module script + modulepreloads). */
  firstPageJsGzipBytes: number;
  firstPageJsFiles: string[];
  /** Navigation → list visible, per user, milliseconds (median and all samples). */
  listVisibleMs: Record<string, { median: number; samples: number[] }>;
  /** Keystroke → filtered list painted on 2,000 rows, milliseconds. */
  searchKeystrokeMs: { median: number; p95: number; samples: number[]; rows: number };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};
const p95 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? Number.NaN;
};

async function firstPageJs(): Promise<{ bytes: number; files: string[] }> {
  const html = await readFile(join(PORTAL_DIST_DIR, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? '');
  let bytes = 0;
  for (const file of files)
    bytes += gzipSync(await readFile(join(PORTAL_DIST_DIR, file)), { level: 9 }).length;
  return { bytes, files };
}

/** Runs in the page: sets the search box to `term` and resolves when the count line changed and painted. */
const KEYSTROKE = `async (term) => {
  const input = document.querySelector('input[type=search]');
  const count = document.querySelector('p.count');
  const before = count.textContent;
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const changed = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (count.textContent !== before) { observer.disconnect(); resolve(); }
    });
    observer.observe(count, { childList: true, characterData: true, subtree: true });
  });
  const t0 = performance.now();
  setter.call(input, term);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  await changed;
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  return performance.now() - t0;
}`;

async function withStack<T>(guestsPerCluster: number, run: (stack: LocalStack) => Promise<T>): Promise<T> {
  const stack = await startLocalStack({
    port: 0,
    inMemory: true,
    publishState: false,
    simulator: { clusters: 2, guestsPerCluster, seed: 3 },
    quickIntervalMs: 600_000,
    fullIntervalMs: 3_600_000,
    logLevel: 'SILENT',
  });
  try {
    await stack.firstSync;
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

type Scenario = 'navigation' | 'search';

/** Signs in (untimed) and waits for the list, so the timed navigations reuse the issuer session. */
async function signInToList(
  browser: import('playwright-core').Browser,
  stack: LocalStack,
  username: string,
  path: string,
) {
  const session = await signIn(browser, stack.apiUrl, username, { path });
  await session.page.locator('p.count').waitFor({ timeout: 180_000 });
  return session;
}

/** One scenario on its own local stack (run in a child process: one local stack per process). */
export async function runPortalScenario(scenario: Scenario, samples: number): Promise<unknown> {
  const browser = await launchChromium();
  try {
    if (scenario === 'navigation') {
      const listVisibleMs: PortalBenchResult['listVisibleMs'] = {};
      await withStack(100, async (stack) => {
        for (const [username, path] of [
          ['admin', '/admin/vms'],
          ['alice', '/'],
        ] as const) {
          const { context, page } = await signInToList(browser, stack, username, path);
          const times: number[] = [];
          for (let i = 0; i < samples; i++) {
            // A fresh navigation: config, bundle (cached like a returning visitor), sign-in through
            // the issuer's session (authorize → callback → token), then the list.
            const t0 = performance.now();
            await page.goto(`${stack.apiUrl}${path}`);
            await page.locator('p.count').waitFor({ timeout: 180_000 });
            times.push(performance.now() - t0);
          }
          await context.close();
          listVisibleMs[username === 'alice' ? 'student' : 'admin'] = {
            median: median(times),
            samples: times,
          };
        }
      });
      return listVisibleMs;
    }
    return await withStack(1000, async (stack) => {
      const { context, page } = await signInToList(browser, stack, 'admin', '/admin/vms');
      const rows = Number((await page.locator('p.count').textContent())?.match(/\d+/)?.[0] ?? 0);
      const times: number[] = [];
      for (let i = 0; i < samples * 4; i++) {
        const term = i % 2 === 0 ? 'win' : '';
        times.push(Number(await page.evaluate(`(${KEYSTROKE})(${JSON.stringify(term)})`)));
      }
      await context.close();
      return { median: median(times), p95: p95(times), samples: times, rows };
    });
  } finally {
    await browser.close();
  }
}

const SamplesSchema = z.object({ median: z.number(), samples: z.array(z.number()) });
const ListVisibleSchema = z.record(z.string(), SamplesSchema);
const SearchSchema = SamplesSchema.extend({ p95: z.number(), rows: z.number() });

const CHILD = fileURLToPath(new URL('./portal-child.ts', import.meta.url));

function inChild(scenario: Scenario, samples: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, scenario, String(samples)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`portal ${scenario} scenario exited with ${code}`));
      else resolve(JSON.parse(line));
    });
  });
}

/** Measures the portal; `samples` navigations per user and 4 × `samples` keystrokes. */
export async function measurePortal(
  samples: number,
  log: (line: string) => void,
): Promise<PortalBenchResult> {
  await ensurePortalBuilt({ force: true });
  const js = await firstPageJs();
  log('  portal: 2 × 100 guests, navigation → list visible');
  const listVisibleMs = ListVisibleSchema.parse(await inChild('navigation', samples));
  log('  portal: 2 × 1,000 guests, search keystroke');
  const searchKeystrokeMs = SearchSchema.parse(await inChild('search', samples));
  return { firstPageJsGzipBytes: js.bytes, firstPageJsFiles: js.files, listVisibleMs, searchKeystrokeMs };
}

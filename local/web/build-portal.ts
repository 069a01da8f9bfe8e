import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PORTAL_DIST_DIR, PROJECT_ROOT } from '#local/stack/paths.ts';

/**
 * Builds the portal (web/ → web/dist) as `npm run build:web` does. `npm start`, the browser tests
 * and the portal benchmark call {@link ensurePortalBuilt} so a fresh clone serves the portal
 * without a separate step.
 */

/** Vite's command line, run by this Node. */
const VITE_BIN = join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

/**
 * Builds the portal now, always as the production build users get. Vite takes `NODE_ENV` from the
 * environment it runs in: inside a test runner (`NODE_ENV=test`) an in-process build would bundle
 * React's development build (three times the size, with dev-only checks), so the build runs in a
 * child process with `NODE_ENV=production`.
 */
export async function buildPortal(): Promise<void> {
  try {
    await promisify(execFile)(
      process.execPath,
      [VITE_BIN, 'build', '--config', join(PROJECT_ROOT, 'web', 'vite.config.ts'), '--logLevel', 'warn'],
      { cwd: PROJECT_ROOT, env: { ...process.env, NODE_ENV: 'production' }, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message?: string };
    throw new Error(
      `building the portal (vite build) failed: ${[output.stderr, output.stdout].filter(Boolean).join('\n') || output.message}`,
    );
  }
}

/** Builds the portal unless `web/dist/index.html` exists; answers whether it built. */
export async function ensurePortalBuilt(options: { force?: boolean } = {}): Promise<boolean> {
  if (!options.force) {
    try {
      await stat(join(PORTAL_DIST_DIR, 'index.html'));
      return false;
    } catch {
      // Not built yet.
    }
  }
  await buildPortal();
  return true;
}

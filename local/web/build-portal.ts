import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PORTAL_DIST_DIR, PROJECT_ROOT } from '#local/stack/paths.ts';

/**
 * Builds the portal (web/ → web/dist) with Vite's API, as `npm run build:web` does. `npm start`
 * and the browser tests call {@link ensurePortalBuilt} so a fresh clone serves the portal without
 * a separate step.
 */

/** Builds the portal now. */
export async function buildPortal(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(PROJECT_ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
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

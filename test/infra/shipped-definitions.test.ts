import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  definitionsKey,
  loadSyncDefinitions,
  SHIPPED_DEFINITIONS_FILE,
} from '#local/stack/definitions-cache.ts';
import { synthesizeSyncDefinitions } from '#local/stepfunctions/synthesize-sync.ts';

const STALE = 'Run `npm run render:definitions` and commit local/stepfunctions/sync-definitions.json.';

describe('the sync definitions shipped for a fast first start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-defs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are exactly what the infra code synthesizes today, under the current key', async () => {
    const shipped = JSON.parse(await readFile(SHIPPED_DEFINITIONS_FILE, 'utf8')) as Record<string, unknown>;
    const fresh = synthesizeSyncDefinitions({ config: {} });
    expect(shipped.key, STALE).toBe(await definitionsKey({}));
    expect(shipped.full, STALE).toEqual(fresh.full);
    expect(shipped.quick, STALE).toEqual(fresh.quick);
  });

  it('are used when the data folder has no cache, and the data folder cache wins when current', async () => {
    const cacheFile = join(dir, 'cache.json');
    const fromShipped = await loadSyncDefinitions(cacheFile);
    expect(fromShipped.source).toBe('shipped');

    // A current cache in the data folder comes first (its content is told apart by a marker state).
    const key = await definitionsKey({});
    const marked = {
      ...fromShipped.full,
      States: { ...fromShipped.full.States, Marker: { Type: 'Succeed' } },
    };
    await writeFile(cacheFile, JSON.stringify({ key, full: marked, quick: fromShipped.quick }));
    const fromCache = await loadSyncDefinitions(cacheFile);
    expect(fromCache.source).toBe('cache');
    expect(Object.keys(fromCache.full.States)).toContain('Marker');
  });

  it('are ignored when their key is not the current one: the definitions are synthesized and cached', async () => {
    const cacheFile = join(dir, 'cache-2.json');
    const shippedFile = join(dir, 'shipped.json');
    const real = JSON.parse(await readFile(SHIPPED_DEFINITIONS_FILE, 'utf8')) as Record<string, unknown>;
    await writeFile(shippedFile, JSON.stringify({ ...real, key: 'an-older-key' }));
    const loaded = await loadSyncDefinitions(cacheFile, {}, shippedFile);
    expect(loaded.source).toBe('synthesized');
    const written = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string };
    expect(written.key).toBe(await definitionsKey({}));
  });
});

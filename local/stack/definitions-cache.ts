import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import * as z from 'zod';
import type { SyncDefinitions } from '#local/stepfunctions/synthesize-sync.ts';
import { PROJECT_ROOT } from './paths.ts';

/**
 * Synthesizing the CDK app takes seconds (tens of seconds on a busy machine), so the rendered
 * definitions are keyed by a hash of every project file the synthesis imports (followed from its
 * entry point), the deployment settings and the CDK version, and found, in this order, in the data
 * folder's cache, in the definitions shipped with the project (rendered for the default settings by
 * `npm run render:definitions`, kept current by a test), or synthesized: any change to the sync
 * stack, its constructs, the sync contract or the local renderer synthesizes them again.
 */

/** The definitions rendered for the default settings, committed with the project. */
export const SHIPPED_DEFINITIONS_FILE = join(PROJECT_ROOT, 'local', 'stepfunctions', 'sync-definitions.json');

/** Where the synthesis starts: every project file these import is part of the key. */
const ENTRY_POINTS = ['local/stepfunctions/synthesize-sync.ts'];
/** Outside the import graph but deciding the output. */
const EXTRA_SOURCES = ['node_modules/aws-cdk-lib/package.json'];

const CacheSchema = z.object({ key: z.string(), full: z.unknown(), quick: z.unknown() });

const DefinitionShapeSchema = z.object({ StartAt: z.string(), States: z.record(z.string(), z.unknown()) });

/**
 * Whether a cached value has a state machine's shape. Deliberately light (the full ASL validation
 * costs seconds of CPU): the interpreter validates the definition itself when it runs it.
 */
function isDefinitionShaped(value: unknown): value is StateMachineDefinition {
  return DefinitionShapeSchema.safeParse(value).success;
}

/** The package import aliases of package.json. */
const ALIASES: Readonly<Record<string, string>> = {
  '#shared/': 'shared/',
  '#simulator/': 'simulator/',
  '#local/': 'local/',
  '#functions/': 'functions/',
  '#infra/': 'infra/',
};

/** The project files a module imports (relative paths and aliases; packages are left out). */
export function projectImports(file: string, source: string, root: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('.')) {
      found.push(resolve(dirname(file), specifier));
      continue;
    }
    const alias = Object.keys(ALIASES).find((prefix) => specifier.startsWith(prefix));
    if (alias !== undefined) found.push(join(root, `${ALIASES[alias]}${specifier.slice(alias.length)}`));
  }
  return found;
}

/** Every project file reachable from the entry points through imports. */
async function importGraph(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = ENTRY_POINTS.map((entry) => join(root, entry));
  while (queue.length > 0) {
    const file = queue.pop();
    if (file === undefined || seen.has(file) || !file.endsWith('.ts')) continue;
    seen.add(file);
    queue.push(...projectImports(file, await readFile(file, 'utf8'), root));
  }
  return [...seen];
}

/** Hash of the synthesis inputs (file names and contents) and the deployment settings. */
export async function definitionsKey(config: Record<string, unknown>, root = PROJECT_ROOT): Promise<string> {
  const files = [...(await importGraph(root)), ...EXTRA_SOURCES.map((source) => join(root, source))].sort();
  const hash = createHash('sha256').update(JSON.stringify(config));
  for (const file of files) {
    hash
      .update(relative(root, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Definitions from `file` when it holds the ones for `key`, else `undefined`. */
async function readCached(file: string, key: string): Promise<SyncDefinitions | undefined> {
  try {
    const cached = CacheSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (cached.success && cached.data.key === key) {
      const { full, quick } = cached.data;
      if (isDefinitionShaped(full) && isDefinitionShaped(quick)) return { full, quick };
    }
  } catch {
    // Missing or unreadable: look further.
  }
  return undefined;
}

/** Where {@link loadSyncDefinitions} found the definitions. */
export type DefinitionsSource = 'cache' | 'shipped' | 'synthesized';

/**
 * The sync definitions from the cache file or the shipped file when current, else synthesized (and
 * cached).
 */
export async function loadSyncDefinitions(
  cacheFile: string | undefined,
  config: Record<string, unknown> = {},
  shippedFile = SHIPPED_DEFINITIONS_FILE,
): Promise<SyncDefinitions & { source: DefinitionsSource }> {
  // The CDK library takes a second to load: only when synthesizing.
  const synthesize = async () =>
    (await import('#local/stepfunctions/synthesize-sync.ts')).synthesizeSyncDefinitions({ config });
  if (cacheFile === undefined) return { ...(await synthesize()), source: 'synthesized' };
  const key = await definitionsKey(config);
  const cached = await readCached(cacheFile, key);
  if (cached !== undefined) return { ...cached, source: 'cache' };
  const shipped = await readCached(shippedFile, key);
  if (shipped !== undefined) return { ...shipped, source: 'shipped' };
  const definitions = await synthesize();
  await writeFile(cacheFile, JSON.stringify({ key, ...definitions }));
  return { ...definitions, source: 'synthesized' };
}

/** Renders the definitions for the default settings into the shipped file (`npm run render:definitions`). */
export async function writeShippedDefinitions(file = SHIPPED_DEFINITIONS_FILE): Promise<void> {
  const { synthesizeSyncDefinitions } = await import('#local/stepfunctions/synthesize-sync.ts');
  const key = await definitionsKey({});
  await writeFile(
    file,
    `${JSON.stringify({ key, ...synthesizeSyncDefinitions({ config: {} }) }, null, 2)}\n`,
  );
}

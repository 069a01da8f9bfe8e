import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where `.data/` lives by default). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** Default data folder of the local stack and the CLI. */
export const DEFAULT_DATA_DIR = join(PROJECT_ROOT, '.data');

/** The built portal (`npm run build:web`), served by the local gateway at `/`. */
export const PORTAL_DIST_DIR = join(PROJECT_ROOT, 'web', 'dist');

/** Files inside a data folder. */
export function dataPaths(dataDir: string) {
  return {
    /** DynamoDB Local's database folder */
    dynamodb: join(dataDir, 'dynamodb'),
    /** the local issuer's signing key: tokens stay valid across restarts, and the CLI signs with it */
    issuerKey: join(dataDir, 'issuer-key.pem'),
    /** the synthesized sync state machine definitions, keyed by a hash of their sources */
    definitionsCache: join(dataDir, 'sync-definitions.json'),
    /** what a running `npm start` publishes for the CLI (API URL, DynamoDB endpoint, table names) */
    stackState: join(dataDir, 'local-stack.json'),
  };
}

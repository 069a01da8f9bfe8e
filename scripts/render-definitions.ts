/**
 * `npm run render:definitions`: renders the sync state machine definitions for the default settings
 * into local/stepfunctions/sync-definitions.json, so a fresh clone's first `npm start` needs no CDK
 * synthesis. A test fails when the file no longer matches the infra code.
 */
import { SHIPPED_DEFINITIONS_FILE, writeShippedDefinitions } from '#local/stack/definitions-cache.ts';

await writeShippedDefinitions();
process.stdout.write(`wrote ${SHIPPED_DEFINITIONS_FILE}\n`);

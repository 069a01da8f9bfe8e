import { buildPortal } from '#local/web/build-portal.ts';

/**
 * Vitest global setup of the browser project: builds the portal once from the current sources
 * before any browser test file starts (a stale web/dist would test, and photograph, old code; one
 * build per file would let one file empty web/dist while another serves it).
 */
export default async function setup(): Promise<void> {
  await buildPortal();
}

import { readFile, rm, writeFile } from 'node:fs/promises';
import * as z from 'zod';

/**
 * The small JSON file a running local stack writes into its data folder, so that the admin CLI
 * finds the API, the DynamoDB Local endpoint and the table names without flags. Holds no secret.
 */

export const StackStateSchema = z.object({
  pid: z.number().int(),
  apiUrl: z.url(),
  dynamodbEndpoint: z.url(),
  tables: z.object({
    inventory: z.string(),
    syncState: z.string(),
    ownership: z.string(),
    audit: z.string().default('pve-inventory-AuditTrail'),
    live: z.string().default('pve-inventory-LiveConnections'),
  }),
  issuerUrl: z.string(),
  clientId: z.string(),
  clusters: z.array(z.string()),
  /** the identity provider group names the stack's handlers give the admin and teacher roles */
  groups: z
    .object({ admin: z.string().min(1), teacher: z.string().min(1) })
    .default({ admin: 'admins', teacher: 'teachers' }),
  startedAt: z.iso.datetime(),
  /** the live updates' WebSocket URL (`ws://…/ws`), absent for stacks without it */
  liveUrl: z.string().optional(),
});
export type StackState = z.infer<typeof StackStateSchema>;

/** Writes the state file. */
export async function writeStackState(path: string, state: StackState): Promise<void> {
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Reads the state file; null when absent, unreadable or not from a live process. */
export async function readStackState(path: string): Promise<StackState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = StackStateSchema.safeParse(json);
  if (!parsed.success) return null;
  try {
    // Signal 0 only checks that the process exists: a leftover file of a crashed stack is ignored.
    process.kill(parsed.data.pid, 0);
  } catch {
    return null;
  }
  return parsed.data;
}

/** Removes the state file (on stop). */
export async function removeStackState(path: string): Promise<void> {
  await rm(path, { force: true });
}

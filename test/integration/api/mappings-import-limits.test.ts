import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import {
  ImportMappingsResponseSchema,
  ListAssignmentsResponseSchema,
  MAPPINGS_IMPORT_LIMITS,
} from '#shared/http/schemas/ownership.ts';
import { type ApiWorld, freshClusterState, startApiWorld, vmItem } from './api-world.ts';

/**
 * Size limits and resource use of the mappings.json import, through the gateway on DynamoDB
 * Local: too large a file is refused at once with 413, a large one is read with bounded
 * concurrency and completes.
 */

let world: ApiWorld;
/** DynamoDB commands in flight right now, and the most seen since the last reset. */
const inFlight = { now: 0, max: 0, total: 0 };

beforeAll(async () => {
  world = await startApiWorld('api-import-limits');
  const { inventory, syncState } = world.repositories;
  await inventory.batchPut([vmItem('lab-a', 101), vmItem('lab-a', 102), vmItem('lab-a', 103)]);
  await syncState.putClusterState(freshClusterState('lab-a'));
  world.tables.documentClient.middlewareStack.add(
    (next) => async (args) => {
      // The audit entry recorded after the answer is not the import's work.
      const input = args.input as { TableName?: string };
      if (input.TableName === world.tables.names.audit) return next(args);
      inFlight.now += 1;
      inFlight.total += 1;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      try {
        return await next(args);
      } finally {
        inFlight.now -= 1;
      }
    },
    { step: 'initialize', name: 'countInFlight' },
  );
});

afterAll(async () => {
  await world?.close();
});

const importAs = (body: unknown, query = '') =>
  world.request('POST', `/api/assignments/import${query}`, { token: world.tokens.admin, body });

/** A file of `users` users, each listing the given VMs. */
function file(users: number, vms: readonly (string | number)[], name = (i: number) => `student${i}`) {
  const body: Record<string, (string | number)[]> = {};
  for (let i = 0; i < users; i++) body[name(i)] = [...vms];
  return body;
}

async function mappingCount(): Promise<number> {
  const response = await world.request('GET', '/api/assignments?source=mapping', {
    token: world.tokens.admin,
  });
  if (response.status !== 200) return -1;
  return ListAssignmentsResponseSchema.parse(await response.json()).assignments.length;
}

describe('mappings.json import limits', () => {
  it('refuses a body over the byte limit with 413 before reading anything', async () => {
    const padding = 'x'.repeat(100);
    const users = Math.ceil(MAPPINGS_IMPORT_LIMITS.maxBodyBytes / 100) + 10;
    inFlight.total = 0;
    const response = await importAs(file(users, ['lab-a:101'], (i) => `${padding.slice(0, 80)}${i}`));
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe('payload_too_large');
    expect(answer.error.message).toContain(`at most ${MAPPINGS_IMPORT_LIMITS.maxBodyBytes} bytes`);
    expect(inFlight.total).toBe(0);
  });

  it('refuses more users than one import accepts with 413 before reading anything', async () => {
    inFlight.total = 0;
    const response = await importAs(file(MAPPINGS_IMPORT_LIMITS.maxUsers + 1, [101]), '?cluster=lab-a');
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { error: { message: string } };
    expect(answer.error.message).toContain(`${MAPPINGS_IMPORT_LIMITS.maxUsers + 1} users`);
    expect(answer.error.message).toMatch(/nothing was imported/);
    expect(inFlight.total).toBe(0);
  });

  it('refuses more entries than one import accepts with 413', async () => {
    const perUser = 3;
    const users = Math.floor(MAPPINGS_IMPORT_LIMITS.maxEntries / perUser) + 1;
    const response = await importAs(file(users, ['lab-a:101', 'lab-a:102', 'lab-a:103']));
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { error: { message: string } };
    expect(answer.error.message).toContain(`${users * perUser} entries`);
    expect(await mappingCount()).toBe(0);
  });

  it('completes a dry run at the user and entry limits with a bounded number of DynamoDB calls in flight', async () => {
    inFlight.max = 0;
    inFlight.total = 0;
    const users = MAPPINGS_IMPORT_LIMITS.maxUsers;
    const response = await importAs(file(users, ['lab-a:101']), '?dry_run=true');
    expect(response.status).toBe(200);
    expect(ImportMappingsResponseSchema.parse(await response.json())).toEqual({
      dry_run: true,
      users,
      assignments: users,
      created: users,
      unchanged: 0,
    });
    // Batched reads (100 keys each), never one query per user, and never more than a few at once.
    expect(inFlight.max).toBeLessThanOrEqual(8);
    expect(inFlight.total).toBeLessThan(users / 20);
    expect(await mappingCount()).toBe(0);
  });

  it('writes a large import with bounded concurrency and finds it unchanged the second time', async () => {
    inFlight.max = 0;
    // 24 batch writes of 25, three times the concurrency bound: large enough to need the bound, small
    // enough to stay inside the gateway's 29 s on a 2-core machine running the whole suite (1,500
    // users once took longer there, while one file alone takes ~1 s).
    const users = 600;
    const body = file(users, ['lab-a:103']);
    const first = await importAs(body);
    expect(first.status).toBe(200);
    expect(ImportMappingsResponseSchema.parse(await first.json())).toMatchObject({
      created: users,
      unchanged: 0,
    });
    expect(inFlight.max).toBeLessThanOrEqual(8);
    const again = await importAs(body);
    expect(ImportMappingsResponseSchema.parse(await again.json())).toMatchObject({
      created: 0,
      unchanged: users,
    });
  });
});

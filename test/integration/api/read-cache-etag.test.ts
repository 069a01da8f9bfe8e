import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { InventoryReadCache } from '#shared/api/read-cache.ts';
import { createActionRecorder } from '../../helpers/dynamodb-actions.ts';
import {
  type ApiWorld,
  freshClusterState,
  NOW_MS,
  seedTestOwnership,
  startApiWorld,
  vmItem,
} from './api-world.ts';

/**
 * GET /api/vms with the read cache, through the gateway on DynamoDB Local: a conditional request
 * whose tag still matches the versions is answered 304 after one Query of the versions, in a cold
 * function too (no VM, runtime or ownership read); a warm list reads no VM; any write moves the tag.
 */

const recorder = createActionRecorder();
let world: ApiWorld;
let cache: InventoryReadCache;
let cold = false;

/** The list handler of a warm function (one cache kept), or of a new one when `cold`. */
const listVms: GatewayLambdaHandler = (event, context) =>
  recorder.run(`list-${requestCount++}`, () => {
    const readCache = cold ? new InventoryReadCache({ now: () => NOW_MS }) : cache;
    return createListVmsHandler(() => ({ ...world.deps, readCache }))(event, context);
  });
let requestCount = 0;

beforeAll(async () => {
  world = await startApiWorld('read-cache-etag', { listVms });
  recorder.attach(world.tables.documentClient);
  cache = new InventoryReadCache({ now: () => NOW_MS });
  const { inventory, syncState, ownership } = world.repositories;
  await inventory.batchPut(Array.from({ length: 30 }, (_, i) => vmItem('lab-a', 100 + i)));
  const state = freshClusterState('lab-a', { total: 30, running: 30, error: 0 });
  await syncState.putClusterState({
    ...state,
    nodes: {
      pve1: {
        online: true,
        last_seen_at: NOW_MS - 30_000,
        last_online_at: NOW_MS - 30_000,
        runtime_at: null,
      },
    },
  });
  await syncState.bumpInventoryVersion('lab-a');
  await seedTestOwnership(ownership);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

/** The DynamoDB actions of the last list request. */
function lastActions(): string[] {
  return [...(recorder.calls().get(`list-${requestCount - 1}`) ?? [])].sort();
}

const syncStateQuery = () => `${world.tables.names.syncState} Query`;

describe('the list with the read cache', () => {
  it('answers 304 to a matching If-None-Match after reading only the versions, warm or cold', async () => {
    cold = false;
    const first = await world.request('GET', '/api/vms', { token: world.tokens.admin });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { vms: unknown[] }).vms).toHaveLength(30);
    const etag = String(first.headers.get('etag'));
    expect(etag).toMatch(/^W\/"[0-9a-z]+-[A-Za-z0-9_-]{27}"$/);

    const warm = await world.request('GET', '/api/vms', { token: world.tokens.admin });
    expect(warm.headers.get('etag')).toBe(etag);
    // Warm: the versions, then the VMs and runtime stats from memory.
    expect(lastActions()).toEqual([`${world.tables.names.syncState} BatchGetItem`, syncStateQuery()]);

    cold = true;
    const conditional = await world.request('GET', '/api/vms', {
      token: world.tokens.admin,
      headers: { 'if-none-match': etag },
    });
    expect(conditional.status).toBe(304);
    expect(conditional.headers.get('etag')).toBe(etag);
    expect(lastActions()).toEqual([syncStateQuery()]);
  });

  it("answers a user's conditional request from the versions too, and any write moves the tag", async () => {
    cold = false;
    const first = await world.request('GET', '/api/vms', { token: world.tokens.studentA });
    expect(first.status).toBe(200);
    const etag = String(first.headers.get('etag'));
    cold = true;
    const conditional = await world.request('GET', '/api/vms', {
      token: world.tokens.studentA,
      headers: { 'if-none-match': etag },
    });
    expect(conditional.status).toBe(304);
    expect(lastActions()).toEqual([syncStateQuery()]);

    // An action's pending state on one of alice's VMs: a new version, a new answer.
    const set = await world.repositories.inventory.setPending({
      key: { cluster_id: 'lab-a', vmid: 101 },
      action: 'stop',
      since: NOW_MS,
    });
    expect(set.outcome).toBe('set');
    cold = false;
    const afterAction = await world.request('GET', '/api/vms', {
      token: world.tokens.studentA,
      headers: { 'if-none-match': etag },
    });
    expect(afterAction.status).toBe(200);
    const body = (await afterAction.json()) as { vms: { vmid: number; pending_action: string | null }[] };
    expect(body.vms.find((vm) => vm.vmid === 101)?.pending_action).toBe('stop');
    const tagAfterAction = String(afterAction.headers.get('etag'));
    expect(tagAfterAction).not.toBe(etag);

    // An ownership change: alice loses a VM.
    await world.repositories.ownership.deleteAssignment({
      username: 'alice',
      cluster_id: 'lab-a',
      vmid: 101,
      source: 'admin',
    });
    const afterOwnership = await world.request('GET', '/api/vms', {
      token: world.tokens.studentA,
      headers: { 'if-none-match': tagAfterAction },
    });
    expect(afterOwnership.status).toBe(200);
    const vmids = ((await afterOwnership.json()) as { vms: { vmid: number }[] }).vms.map((vm) => vm.vmid);
    expect(vmids).not.toContain(101);
  });
});

import { createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { encodeRuntimePack } from '#shared/domain/runtime-pack.ts';
import { DEFAULT_IDENTITY_OPTIONS } from '#shared/http/identity.ts';
import { tableOfStreamArn, toLiveRecords } from '#shared/live/adapters/stream-event.ts';
import { changedRuntimeVmids, classifyRecord } from '#shared/live/changes.ts';
import { messagesForCaller } from '#shared/live/deltas.ts';
import { createLiveFanout } from '#shared/live/fanout.ts';
import type { LiveLogEntry } from '#shared/live/ports.ts';
import { LiveServerMessageSchema, parseClientMessage } from '#shared/live/protocol.ts';
import { replayForCaller } from '#shared/live/service.ts';
import { LiveTokenError, tokenFromUpgrade, verifyLiveToken } from '#shared/live/token.ts';
import type { InventoryRepository, OwnershipRepository, SyncStateRepository } from '#shared/store/ports.ts';

const alice = { username: 'alice', roles: { admin: false, teacher: false } };
const admin = { username: 'root', roles: { admin: true, teacher: false } };
const aliceScope = { all: false as const, keys: [{ cluster_id: 'c1', vmid: 100 }] };

function entry(version: number, overrides: Partial<LiveLogEntry> = {}): LiveLogEntry {
  return {
    cluster_id: 'c1',
    version,
    at: 0,
    vms: [],
    removed: [],
    ownership: false,
    ownership_users: [],
    too_large: false,
    ...overrides,
  };
}

describe('stream records', () => {
  it('reads the table name from a stream ARN', () => {
    expect(
      tableOfStreamArn(
        'arn:aws:dynamodb:ddblocal:000000000000:table/pve-VmInventory/stream/2026-12-07T07:00:00.000',
      ),
    ).toBe('pve-VmInventory');
    expect(tableOfStreamArn('arn:aws:sqs:eu-west-1:1:queue')).toBeUndefined();
  });

  it('marks deletions by TTL and leaves out records of unknown tables', () => {
    const records = toLiveRecords(
      [
        {
          eventName: 'REMOVE',
          eventSourceARN: 'arn:aws:dynamodb:r:1:table/S/stream/x',
          userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
          dynamodb: { SequenceNumber: '1', OldImage: { pk: { S: 'CLUSTER#c1' }, sk: { S: 'LEASE#full' } } },
        },
        {
          eventName: 'INSERT',
          eventSourceARN: 'arn:aws:dynamodb:r:1:table/Other/stream/x',
          dynamodb: { SequenceNumber: '2' },
        },
      ],
      (table) => (table === 'S' ? 'syncState' : undefined),
    );
    expect(records).toEqual([
      expect.objectContaining({
        source: 'syncState',
        sequenceNumber: '1',
        ttlDelete: true,
        oldImage: { pk: 'CLUSTER#c1', sk: 'LEASE#full' },
      }),
    ]);
    expect(classifyRecord(records[0] as (typeof records)[number])).toEqual([]);
  });

  it('finds the VMIDs whose runtime tuple changed, appeared or went away', () => {
    expect(
      changedRuntimeVmids(
        new Map([
          [100, { cpu_usage: 1, memory_usage: 2 }],
          [101, { cpu_usage: 3, memory_usage: 4 }],
          [102, { cpu_usage: 5, memory_usage: 6 }],
        ]),
        new Map([
          [100, { cpu_usage: 1, memory_usage: 2 }],
          [101, { cpu_usage: 3, memory_usage: 5 }],
          [103, { cpu_usage: 0, memory_usage: 0 }],
        ]),
      ),
    ).toEqual([101, 102, 103]);
  });

  it('turns a packed runtime set record into the changed VMIDs of each node', () => {
    const s = (cpu: number, mem: number) => ({ cpu_usage: cpu, memory_usage: mem });
    const image = (at: number, sections: Parameters<typeof encodeRuntimePack>[0], base64 = false) => {
      const packed = encodeRuntimePack(sections);
      return {
        pk: 'CLUSTER#c1',
        sk: 'RUNTIMESET#000',
        cluster_id: 'c1',
        chunk: 0,
        chunk_count: 1,
        observed_at: at,
        // A Lambda stream event carries Binary as base64 text.
        packed: base64 ? Buffer.from(packed).toString('base64') : packed,
      };
    };
    const before = image(1, [
      {
        node: 'a',
        observed_at: 1,
        stats: new Map([
          [100, s(1, 2)],
          [101, s(3, 4)],
        ]),
      },
      { node: 'b', observed_at: 1, stats: new Map([[200, s(5, 6)]]) },
    ]);
    const after = image(
      2,
      [
        // 100 moved by less than the 0.1 shown: no change; 102 appeared; b is unchanged.
        {
          node: 'a',
          observed_at: 2,
          stats: new Map([
            [100, s(1.04, 2)],
            [101, s(3, 4.5)],
            [102, s(0, 1)],
          ]),
        },
        { node: 'b', observed_at: 1, stats: new Map([[200, s(5, 6)]]) },
      ],
      true,
    );
    const base = { source: 'syncState' as const, sequenceNumber: '1' };
    expect(classifyRecord({ ...base, eventName: 'MODIFY', oldImage: before, newImage: after })).toEqual([
      { kind: 'runtime', cluster: 'c1', node: 'a', vmids: [101, 102] },
    ]);
    expect(classifyRecord({ ...base, eventName: 'INSERT', newImage: before })).toEqual([
      { kind: 'runtime', cluster: 'c1', node: 'a', vmids: [100, 101] },
      { kind: 'runtime', cluster: 'c1', node: 'b', vmids: [200] },
    ]);
    // An unreadable image counts as none; an item of the previous per-node format is no change.
    expect(
      classifyRecord({
        ...base,
        eventName: 'MODIFY',
        oldImage: before,
        newImage: { ...after, packed: 'AQ==' },
      }),
    ).toEqual([
      { kind: 'runtime', cluster: 'c1', node: 'a', vmids: [100, 101] },
      { kind: 'runtime', cluster: 'c1', node: 'b', vmids: [200] },
    ]);
    expect(
      classifyRecord({
        ...base,
        eventName: 'REMOVE',
        oldImage: {
          pk: 'CLUSTER#c1',
          sk: 'RUNTIME#a#000',
          cluster_id: 'c1',
          node: 'a',
          stats: { '100': [1, 2] },
        },
      }),
    ).toEqual([]);
  });

  it('ignores a cluster state record in which only the quick lease moved', () => {
    const state = { pk: 'CLUSTERS', sk: 'c1', cluster_id: 'c1', cluster_name: 'C1', inventory_version: 'v1' };
    const lease = { owner: 'run-1', acquired_at: 1_000, lease_expires_at: 61_000 };
    const base = { source: 'syncState' as const, eventName: 'MODIFY' as const, sequenceNumber: '1' };
    expect(classifyRecord({ ...base, oldImage: state, newImage: { ...state, quick_lease: lease } })).toEqual(
      [],
    );
    expect(classifyRecord({ ...base, oldImage: { ...state, quick_lease: lease }, newImage: state })).toEqual(
      [],
    );
    // The closing write that frees it also moves the state: that is a change.
    expect(
      classifyRecord({
        ...base,
        oldImage: { ...state, quick_lease: lease },
        newImage: { ...state, inventory_version: 'v2' },
      }),
    ).toEqual([expect.objectContaining({ kind: 'cluster', cluster: 'c1' })]);
  });

  it('classifies ownership records: assignments, class VM links and memberships', () => {
    const base = { source: 'ownership' as const, eventName: 'INSERT' as const, sequenceNumber: '1' };
    expect(
      classifyRecord({
        ...base,
        newImage: {
          entity: 'assignment',
          username: 'alice',
          cluster_id: 'c1',
          vmid: 100,
          pk: 'USER#alice',
          sk: 'x',
        },
      }),
    ).toEqual([{ kind: 'assignment', username: 'alice', key: { cluster_id: 'c1', vmid: 100 } }]);
    expect(
      classifyRecord({
        ...base,
        newImage: { entity: 'class_vm', class_id: 'net', cluster_id: 'c2', vmid: 100, student: null },
      }),
    ).toEqual([{ kind: 'class_vm', classId: 'net', key: { cluster_id: 'c2', vmid: 100 } }]);
    expect(
      classifyRecord({
        ...base,
        eventName: 'REMOVE',
        oldImage: { entity: 'member', class_id: 'net', username: 'bob', role: 'student' },
      }),
    ).toEqual([{ kind: 'member', classId: 'net', username: 'bob', teacher: false }]);
    expect(
      classifyRecord({
        ...base,
        eventName: 'MODIFY',
        oldImage: { entity: 'member', class_id: 'net', username: 'carol', role: 'teacher' },
        newImage: { entity: 'member', class_id: 'net', username: 'carol', role: 'student' },
      }),
    ).toEqual([{ kind: 'member', classId: 'net', username: 'carol', teacher: true }]);
  });
});

describe('resume', () => {
  it('merges the missed entries into one delta filtered to what the caller sees', () => {
    const messages = replayForCaller(
      'c1',
      3,
      5,
      [
        entry(4, {
          vms: [
            { cluster_id: 'c1', vmid: 100, status: 'running' },
            { cluster_id: 'c1', vmid: 101, status: 'running' },
          ],
        }),
        entry(5, { vms: [{ cluster_id: 'c1', vmid: 100, cpu_usage: 5, sync_error: 'boom at /nodes/pve1' }] }),
      ],
      alice,
      aliceScope,
    );
    expect(messages).toEqual([
      {
        type: 'delta',
        cluster: 'c1',
        version: 5,
        vms: [
          {
            cluster_id: 'c1',
            vmid: 100,
            status: 'running',
            cpu_usage: 5,
            sync_error: 'The last sync could not read this VM; an administrator can see why.',
          },
        ],
        removed: [],
      },
    ]);
  });

  it('replays runtime tuples as one runtime frame, folded into the delta for VMs that also changed otherwise', () => {
    const both = {
      all: false as const,
      keys: [100, 101, 102, 103].map((vmid) => ({ cluster_id: 'c1', vmid })),
    };
    const messages = replayForCaller(
      'c1',
      3,
      7,
      [
        entry(4, {
          runtime: [
            [100, 1, 2],
            [101, 3, 4],
            [102, 5, 6],
            [109, 9, 9],
          ],
        }),
        // 100's status moves after its figures did: the figures ride in its delta
        entry(5, { vms: [{ cluster_id: 'c1', vmid: 100, name: 'renamed' }] }),
        // 101 moved again, 102 was removed, 103 changed status then moved
        entry(6, {
          vms: [{ cluster_id: 'c1', vmid: 103, status: 'running' }],
          removed: [{ cluster_id: 'c1', vmid: 102 }],
          runtime: [[101, 7, 8]],
        }),
        entry(7, {
          runtime: [
            [103, 11, 12],
            [100, 13, 14],
          ],
        }),
      ],
      alice,
      both,
    );
    expect(messages).toEqual([
      {
        type: 'delta',
        cluster: 'c1',
        version: 7,
        vms: [
          { cluster_id: 'c1', vmid: 100, cpu_usage: 13, memory_usage: 14, name: 'renamed' },
          { cluster_id: 'c1', vmid: 103, status: 'running', cpu_usage: 11, memory_usage: 12 },
        ],
        removed: [{ cluster_id: 'c1', vmid: 102 }],
      },
      // 109 is not alice's; 102 is gone
      { type: 'runtime', cluster: 'c1', version: 7, vms: [[101, 7, 8]] },
    ]);
    for (const message of messages) expect(LiveServerMessageSchema.parse(message)).toEqual(message);
    // Figures only: a runtime frame alone, none of it outside the caller's view.
    expect(replayForCaller('c1', 3, 4, [entry(4, { runtime: [[109, 9, 9]] })], alice, aliceScope)).toEqual(
      [],
    );
  });

  it('says resync for a gap in the log, a version never given out, a too large entry or an ownership change of the caller', () => {
    const reason = (messages: ReturnType<typeof replayForCaller>) =>
      messages[0]?.type === 'resync' ? messages[0].reason : null;
    expect(reason(replayForCaller('c1', 3, 5, [entry(5)], alice, aliceScope))).toBe('gap');
    expect(reason(replayForCaller('c1', 9, 5, [], alice, aliceScope))).toBe('unknown_version');
    expect(reason(replayForCaller('c1', 3, 4, [entry(4, { too_large: true })], alice, aliceScope))).toBe(
      'too_large',
    );
    expect(
      reason(
        replayForCaller(
          'c1',
          3,
          4,
          [entry(4, { ownership: true, ownership_users: ['alice'] })],
          alice,
          aliceScope,
        ),
      ),
    ).toBe('ownership');
    expect(
      reason(
        replayForCaller(
          'c1',
          3,
          4,
          [entry(4, { ownership: true, ownership_users: null })],
          alice,
          aliceScope,
        ),
      ),
    ).toBe('ownership');
    // Someone else's ownership change: alice replays; an admin always does.
    expect(
      replayForCaller(
        'c1',
        3,
        4,
        [entry(4, { ownership: true, ownership_users: ['bob'] })],
        alice,
        aliceScope,
      ),
    ).toEqual([]);
    expect(
      replayForCaller(
        'c1',
        3,
        4,
        [entry(4, { ownership: true, ownership_users: null, removed: [{ cluster_id: 'c1', vmid: 7 }] })],
        admin,
        { all: true },
      ),
    ).toEqual([
      { type: 'delta', cluster: 'c1', version: 4, vms: [], removed: [{ cluster_id: 'c1', vmid: 7 }] },
    ]);
  });
});

describe('per-connection messages', () => {
  it("sends a user's runtime tuples of VMs it sees, not again for a VM its delta sends whole", () => {
    const whole = { cluster_id: 'c1', vmid: 101, name: 'x' } as const;
    const delta = {
      cluster: 'c1',
      vms: new Map(),
      removed: new Map(),
      runtime: new Map([
        ['c1#100', [100, 1, 2] as [number, number, number]],
        ['c1#101', [101, 3, 4] as [number, number, number]],
        ['c1#102', [102, 5, 6] as [number, number, number]],
      ]),
      // alice was just given 101: she gets it whole (its figures included)
      ownership: [{ username: 'alice', key: { cluster_id: 'c1', vmid: 101 } }],
      current: new Map([['c1#101', whole as never]]),
    };
    const scope = {
      all: false as const,
      keys: [
        { cluster_id: 'c1', vmid: 100 },
        { cluster_id: 'c1', vmid: 101 },
      ],
    };
    expect(messagesForCaller(delta, 9, alice, scope)).toEqual([
      { type: 'delta', cluster: 'c1', version: 9, vms: [whole], removed: [] },
      { type: 'runtime', cluster: 'c1', version: 9, vms: [[100, 1, 2]] },
    ]);
    expect(messagesForCaller(delta, 9, admin, { all: true })).toEqual([
      {
        type: 'runtime',
        cluster: 'c1',
        version: 9,
        vms: [
          [100, 1, 2],
          [101, 3, 4],
          [102, 5, 6],
        ],
      },
    ]);
    expect(
      messagesForCaller(delta, 9, { username: 'bob', roles: alice.roles }, { all: false, keys: [] }),
    ).toEqual([]);
  });
});

describe('client messages', () => {
  it('parses the actions and names what is wrong', () => {
    expect(parseClientMessage('{"action":"hello","versions":{"c1":3}}')).toEqual({
      ok: true,
      message: { action: 'hello', versions: { c1: 3 } },
    });
    expect(parseClientMessage('nope')).toEqual({ ok: false, error: 'message is not JSON' });
    const unknown = parseClientMessage('{"action":"subscribe"}');
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.error).toContain('action');
  });
});

describe('connect tokens', () => {
  it('takes the token from the query string or the bearer subprotocol', () => {
    expect(tokenFromUpgrade({ token: 'a.b.c' }, undefined)).toBe('a.b.c');
    expect(tokenFromUpgrade(undefined, 'bearer, x.y.z')).toBe('x.y.z');
    expect(tokenFromUpgrade(undefined, 'graphql-ws')).toBeUndefined();
  });

  it('verifies like the HTTP API and matches groups exactly', async () => {
    const issuer = await createLocalIssuer({ issuerUrl: 'https://issuer.localhost/t', clientId: 'client' });
    const options = {
      issuer: issuer.issuerUrl,
      audience: ['client'],
      keys: createLocalJWKSet(issuer.jwks()),
      identity: DEFAULT_IDENTITY_OPTIONS,
    };
    const teacher = await verifyLiveToken(
      await issuer.issueToken('Carol', { groups: ['teachers'] }),
      options,
    );
    expect(teacher.caller).toEqual({ username: 'carol', roles: { admin: false, teacher: true } });
    // "Admins" is not "admins", and "lab admins" is one group.
    const lookalike = await verifyLiveToken(
      await issuer.issueToken('eve', { groups: ['Admins', 'lab admins'] }),
      options,
    );
    expect(lookalike.caller.roles).toEqual({ admin: false, teacher: false });
    const access = await verifyLiveToken(
      await issuer.issueToken('dave', { groups: ['admins'], tokenUse: 'access' }),
      options,
    );
    expect(access.caller.roles.admin).toBe(true);
    for (const refused of [
      await issuer.issueToken('alice', { expiresIn: -10 }),
      await issuer.issueToken('alice', { audience: 'other' }),
      await issuer.issueToken('alice', { notBeforeIn: 600 }),
    ]) {
      await expect(verifyLiveToken(refused, options)).rejects.toBeInstanceOf(LiveTokenError);
    }
  });
});

describe('fan-out with nobody connected', () => {
  it('reads nothing and posts nothing: only the changed clusters move to their next version', async () => {
    const bumped: string[] = [];
    const unused = () => {
      throw new Error('must not be called with nobody connected');
    };
    const fanout = createLiveFanout({
      store: {
        listConnections: async () => [],
        nextVersion: async (cluster) => {
          bumped.push(cluster);
          return bumped.length;
        },
        putConnection: unused,
        getConnection: unused,
        updateTokenExpiry: unused,
        deleteConnection: unused,
        readVersions: unused,
        appendLog: unused,
        readLog: unused,
      },
      poster: { post: unused, close: unused },
      ownership: new Proxy({} as OwnershipRepository, { get: () => unused }),
      readers: {
        inventory: new Proxy({} as InventoryRepository, { get: () => unused }),
        syncState: new Proxy({} as SyncStateRepository, { get: () => unused }),
      },
      now: () => 0,
      staleAfterMs: 600_000,
    });
    const result = await fanout.process([
      {
        source: 'ownership',
        eventName: 'INSERT',
        sequenceNumber: '7',
        newImage: { entity: 'assignment', username: 'alice', cluster_id: 'c2', vmid: 100 },
      },
      {
        source: 'syncState',
        eventName: 'MODIFY',
        sequenceNumber: '8',
        newImage: { pk: 'CLUSTER#c1', sk: 'LEASE#full' },
      },
    ]);
    expect(bumped).toEqual(['c2']);
    expect(result).toMatchObject({ failedSequenceNumbers: [], versions: { c2: 1 }, messages: 0 });
  });
});

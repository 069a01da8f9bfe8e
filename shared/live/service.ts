import type { ListVmsReaders } from '#shared/api/list-vms.ts';
import { resolveVisibleScope, vmKeyString } from '#shared/api/visibility.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { OwnershipRepository } from '#shared/store/ports.ts';
import { messagesForCaller } from './deltas.ts';
import { callerOfConnection } from './fanout.ts';
import type { LiveConnection, LiveLogEntry, LivePoster, LiveStore } from './ports.ts';
import {
  type LiveRuntimeTuple,
  type LiveServerMessage,
  type LiveVersions,
  type LiveVmChange,
  parseClientMessage,
  type ResyncReason,
} from './protocol.ts';
import type { VerifiedLiveToken } from './token.ts';

/**
 * The WebSocket routes: `$connect` (the authorizer has verified the token: the connection is
 * stored with its caller and token expiry), `$default` (hello/resume, ping, reauth) and
 * `$disconnect`, plus the expiry check the sweep and the local gateway use. Replies go out through
 * the same poster as the fan-out (API Gateway's management API).
 */

/** Dependencies of {@link createLiveService}. */
export interface LiveServiceDeps {
  readonly store: LiveStore;
  readonly poster: LivePoster;
  readonly ownership: OwnershipRepository;
  readonly readers: ListVmsReaders;
  readonly now: () => number;
  /** Verifies a `reauth` token (the connect authorizer's check). */
  readonly verify: (token: string) => Promise<VerifiedLiveToken>;
  /** Most log entries replayed per cluster on resume; a longer gap is a `resync`. @default 500 */
  readonly maxReplay?: number;
}

/** Outcome of an expiry check. */
export type ExpiryCheck = { state: 'open'; expiresAtMs: number } | { state: 'expired' } | { state: 'gone' };

export interface LiveService {
  connect(connectionId: string, token: VerifiedLiveToken): Promise<void>;
  disconnect(connectionId: string): Promise<void>;
  /** Handles one client frame. */
  receive(connectionId: string, body: string | null | undefined): Promise<void>;
  /** Whether a connection's token still holds (re-read: a `reauth` may have moved it). */
  checkExpiry(connectionId: string): Promise<ExpiryCheck>;
  /** Closes every connection whose token has expired; returns how many. */
  sweepExpired(): Promise<number>;
}

/** The messages that bring a client from `have` to the current versions (pure: log entries given). */
export function replayForCaller(
  cluster: string,
  have: number,
  current: number,
  entries: readonly LiveLogEntry[],
  caller: Caller,
  scope: Parameters<typeof messagesForCaller>[3],
): LiveServerMessage[] {
  const resync = (reason: ResyncReason): LiveServerMessage[] => [
    { type: 'resync', cluster, version: current, reason },
  ];
  if (have === current) return [];
  if (have > current) return resync('unknown_version');
  const expected = current - have;
  const contiguous =
    entries.length === expected && entries.every((entry, index) => entry.version === have + 1 + index);
  if (!contiguous) return resync('gap');
  if (entries.some((entry) => entry.too_large)) return resync('too_large');
  const concerns = (entry: LiveLogEntry) =>
    entry.ownership && (entry.ownership_users === null || entry.ownership_users.includes(caller.username));
  if (!caller.roles.admin && entries.some(concerns)) return resync('ownership');
  // Later entries override earlier ones field by field; a removal drops earlier changes. A VM is
  // either in `vms` (a delta change, which then also carries later CPU/memory figures) or in
  // `runtime` (only CPU/memory moved), never in both.
  const vms = new Map<string, LiveVmChange>();
  const removed = new Map<string, { cluster_id: string; vmid: number }>();
  const runtime = new Map<string, LiveRuntimeTuple>();
  for (const entry of entries) {
    for (const key of entry.removed) {
      const id = vmKeyString(key);
      vms.delete(id);
      runtime.delete(id);
      removed.set(id, key);
    }
    for (const change of entry.vms) {
      const id = vmKeyString(change);
      removed.delete(id);
      const moved = runtime.get(id);
      runtime.delete(id);
      const before =
        moved === undefined ? vms.get(id) : { ...vms.get(id), cpu_usage: moved[1], memory_usage: moved[2] };
      vms.set(id, { ...before, ...change });
    }
    for (const tuple of entry.runtime ?? []) {
      const id = vmKeyString({ cluster_id: cluster, vmid: tuple[0] });
      const known = vms.get(id);
      if (known !== undefined) vms.set(id, { ...known, cpu_usage: tuple[1], memory_usage: tuple[2] });
      else runtime.set(id, tuple);
    }
  }
  return messagesForCaller(
    { cluster, vms, removed, runtime, ownership: [], current: new Map() },
    current,
    caller,
    scope,
  );
}

/** Builds the WebSocket routes on their ports. */
export function createLiveService(deps: LiveServiceDeps): LiveService {
  const maxReplay = deps.maxReplay ?? 500;
  const send = async (connectionId: string, message: LiveServerMessage): Promise<boolean> => {
    const outcome = await deps.poster.post(connectionId, message);
    if (outcome === 'gone') await deps.store.deleteConnection(connectionId);
    return outcome === 'sent';
  };

  async function hello(connection: LiveConnection, have: LiveVersions | undefined): Promise<void> {
    const current = await deps.store.readVersions();
    if (have !== undefined) {
      const caller = callerOfConnection(connection);
      const scope = await resolveVisibleScope(caller, deps.ownership);
      for (const [cluster, version] of Object.entries(current)) {
        const had = have[cluster];
        let messages: LiveServerMessage[];
        if (had === undefined) messages = [{ type: 'resync', cluster, version, reason: 'gap' }];
        else if (had >= version) messages = replayForCaller(cluster, had, version, [], caller, scope);
        else {
          const entries = await deps.store.readLog(cluster, had, Math.min(maxReplay, version - had) + 1);
          messages = replayForCaller(cluster, had, version, entries, caller, scope);
        }
        for (const message of messages) if (!(await send(connection.connection_id, message))) return;
      }
    }
    await send(connection.connection_id, {
      type: 'hello',
      versions: current,
      expires_at: new Date(connection.token_expires_at).toISOString(),
    });
  }

  return {
    async connect(connectionId, token) {
      await deps.store.putConnection({
        connection_id: connectionId,
        username: token.caller.username,
        admin: token.caller.roles.admin,
        teacher: token.caller.roles.teacher,
        token_expires_at: token.expiresAtMs,
        connected_at: deps.now(),
      });
    },
    async disconnect(connectionId) {
      await deps.store.deleteConnection(connectionId);
    },
    async receive(connectionId, body) {
      const connection = await deps.store.getConnection(connectionId);
      if (connection === null) {
        await deps.poster.close(connectionId);
        return;
      }
      if (connection.token_expires_at <= deps.now()) {
        await deps.poster.close(connectionId);
        await deps.store.deleteConnection(connectionId);
        return;
      }
      const parsed = parseClientMessage(body);
      if (!parsed.ok) {
        await send(connectionId, { type: 'error', code: 'bad_request', message: parsed.error });
        return;
      }
      const message = parsed.message;
      switch (message.action) {
        case 'ping':
          await send(connectionId, { type: 'pong' });
          return;
        case 'hello':
          await hello(connection, message.versions);
          return;
        case 'reauth': {
          let verified: VerifiedLiveToken;
          try {
            verified = await deps.verify(message.token);
          } catch {
            await send(connectionId, {
              type: 'error',
              code: 'unauthorized',
              message: 'The token was refused',
            });
            return;
          }
          const same =
            verified.caller.username === connection.username &&
            verified.caller.roles.admin === connection.admin &&
            verified.caller.roles.teacher === connection.teacher;
          if (!same) {
            // Another user or other roles: what this connection was sent no longer applies.
            await send(connectionId, {
              type: 'error',
              code: 'unauthorized',
              message: 'A re-authentication must be for the same user and groups: reconnect instead',
            });
            return;
          }
          await deps.store.updateTokenExpiry(connectionId, verified.expiresAtMs);
          await send(connectionId, {
            type: 'reauth',
            expires_at: new Date(verified.expiresAtMs).toISOString(),
          });
          return;
        }
      }
    },
    async checkExpiry(connectionId) {
      const connection = await deps.store.getConnection(connectionId);
      if (connection === null) return { state: 'gone' };
      if (connection.token_expires_at <= deps.now()) return { state: 'expired' };
      return { state: 'open', expiresAtMs: connection.token_expires_at };
    },
    async sweepExpired() {
      const nowMs = deps.now();
      let closed = 0;
      for (const connection of await deps.store.listConnections()) {
        if (connection.token_expires_at > nowMs) continue;
        await deps.poster
          .post(connection.connection_id, {
            type: 'error',
            code: 'unauthorized',
            message: 'The token expired',
          })
          .catch(() => 'gone');
        await deps.poster.close(connection.connection_id);
        await deps.store.deleteConnection(connection.connection_id);
        closed += 1;
      }
      return closed;
    },
  };
}

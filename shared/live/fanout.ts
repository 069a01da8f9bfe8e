import type { ListVmsReaders } from '#shared/api/list-vms.ts';
import { resolveVisibleScope, type VisibleScope } from '#shared/api/visibility.ts';
import type { Caller } from '#shared/http/identity.ts';
import { mapWithConcurrency } from '#shared/runtime/concurrency.ts';
import type { OwnershipRepository } from '#shared/store/ports.ts';
import { classifyRecord, type LiveChange, type LiveStreamRecord } from './changes.ts';
import {
  type ClusterDelta,
  computeClusterDelta,
  isEmptyDelta,
  logEntryOf,
  messagesForCaller,
  type OwnershipPair,
} from './deltas.ts';
import type { LiveConnection, LivePoster, LiveStore } from './ports.ts';
import type { LiveServerMessage } from './protocol.ts';

/**
 * The fan-out: one stream batch in, at most one `delta` and one `runtime` frame (CPU/memory-only
 * changes, compact) per connection per cluster out, both with the cluster's new version. Changes
 * are grouped per cluster; each cluster with a change gets the next version and a log entry; then
 * the connections are listed once and each gets its filtered, disclosed delta (visibility resolved
 * once per user by the HTTP list's own rules). Nothing is read per connection when the batch held
 * no change a client can see. Records of a cluster whose processing failed are reported back
 * (partial batch failure); a gone connection is deleted, never a failure.
 */

/** Dependencies of {@link createLiveFanout}. */
export interface LiveFanoutDeps {
  readonly store: LiveStore;
  readonly poster: LivePoster;
  readonly ownership: OwnershipRepository;
  readonly readers: ListVmsReaders;
  readonly now: () => number;
  readonly staleAfterMs: number;
  /** A message to one connection above this size becomes a `resync`. @default 100,000 (API Gateway: 128 KB) */
  readonly maxMessageBytes?: number;
  /** A log entry above this size is kept as `too_large`. @default 300,000 (DynamoDB: 400 KB items) */
  readonly maxLogEntryBytes?: number;
  /** Posts in flight at once. @default 16 */
  readonly concurrency?: number;
  readonly log?: (message: string, detail?: Record<string, unknown>) => void;
}

/** What one batch did. */
export interface FanoutResult {
  /** sequence numbers of records to retry (their cluster failed) */
  readonly failedSequenceNumbers: string[];
  /** the new version of each cluster that changed */
  readonly versions: Record<string, number>;
  readonly messages: number;
  readonly bytes: number;
  /** connections found gone (deleted) */
  readonly gone: number;
}

export interface LiveFanout {
  process(records: readonly LiveStreamRecord[]): Promise<FanoutResult>;
}

function clusterOf(change: LiveChange): string | null {
  switch (change.kind) {
    case 'vm':
    case 'assignment':
    case 'class_vm':
      return change.key.cluster_id;
    case 'runtime':
    case 'cluster':
      return change.cluster;
    case 'member':
      return null;
  }
}

/** The caller a connection stands for. */
export function callerOfConnection(connection: LiveConnection): Caller {
  return { username: connection.username, roles: { admin: connection.admin, teacher: connection.teacher } };
}

/** Builds the fan-out on its ports. */
export function createLiveFanout(deps: LiveFanoutDeps): LiveFanout {
  const maxMessageBytes = deps.maxMessageBytes ?? 100_000;
  const maxLogEntryBytes = deps.maxLogEntryBytes ?? 300_000;
  const log = deps.log ?? (() => {});

  /** Expands class links and memberships into (user, VM) pairs per cluster. */
  async function ownershipPairs(
    changes: readonly LiveChange[],
  ): Promise<{ pairs: Map<string, OwnershipPair[]>; unknown: Set<string> }> {
    const pairs = new Map<string, OwnershipPair[]>();
    const unknown = new Set<string>();
    const add = (pair: OwnershipPair) => {
      const list = pairs.get(pair.key.cluster_id) ?? [];
      list.push(pair);
      pairs.set(pair.key.cluster_id, list);
    };
    const classes = new Map<string, ReturnType<OwnershipRepository['getClass']>>();
    const classOf = (id: string) => {
      let read = classes.get(id);
      if (read === undefined) {
        read = deps.ownership.getClass(id);
        classes.set(id, read);
      }
      return read;
    };
    for (const change of changes) {
      if (change.kind === 'assignment') add({ username: change.username, key: change.key });
      else if (change.kind === 'class_vm') {
        const details = await classOf(change.classId);
        if (details === null) unknown.add(change.key.cluster_id);
        else for (const teacher of details.teachers) add({ username: teacher, key: change.key });
      } else if (change.kind === 'member' && change.teacher) {
        const details = await classOf(change.classId);
        // A deleted class: its VM links' own records mark their clusters.
        for (const vm of details?.vms ?? []) add({ username: change.username, key: vm });
      }
    }
    return { pairs, unknown };
  }

  return {
    async process(records) {
      const nowMs = deps.now();
      const byCluster = new Map<string, { changes: LiveChange[]; sequenceNumbers: string[] }>();
      const memberRecords: string[] = [];
      const all: LiveChange[] = [];
      for (const record of records) {
        for (const change of classifyRecord(record)) {
          all.push(change);
          const cluster = clusterOf(change);
          if (cluster === null) {
            memberRecords.push(record.sequenceNumber);
            continue;
          }
          const group = byCluster.get(cluster) ?? { changes: [], sequenceNumbers: [] };
          group.changes.push(change);
          group.sequenceNumbers.push(record.sequenceNumber);
          byCluster.set(cluster, group);
        }
      }
      const failed: string[] = [];
      const versions: Record<string, number> = {};
      if (all.length === 0)
        return { failedSequenceNumbers: failed, versions, messages: 0, bytes: 0, gone: 0 };

      // Nobody connected: no delta is computed, only the versions move on (without a log entry, so a
      // client that resumes across this batch is told to reload: never a silent gap).
      const connections = await deps.store.listConnections();
      if (connections.length === 0) {
        const clusters = new Set([...byCluster.keys()]);
        if (memberRecords.length > 0 && clusters.size === 0)
          return { failedSequenceNumbers: failed, versions, messages: 0, bytes: 0, gone: 0 };
        for (const cluster of clusters) {
          try {
            versions[cluster] = await deps.store.nextVersion(cluster);
          } catch (error) {
            log('live fan-out could not move a version on', { cluster, error: String(error) });
            failed.push(...(byCluster.get(cluster)?.sequenceNumbers ?? []));
          }
        }
        return { failedSequenceNumbers: failed, versions, messages: 0, bytes: 0, gone: 0 };
      }

      let expanded: Awaited<ReturnType<typeof ownershipPairs>>;
      let states: Awaited<ReturnType<ListVmsReaders['syncState']['listClusterStates']>>;
      try {
        [expanded, states] = await Promise.all([
          ownershipPairs(all),
          deps.readers.syncState.listClusterStates(),
        ]);
      } catch (error) {
        log('live fan-out could not read ownership or cluster states', { error: String(error) });
        return {
          failedSequenceNumbers: records.map((record) => record.sequenceNumber),
          versions,
          messages: 0,
          bytes: 0,
          gone: 0,
        };
      }
      for (const cluster of [...expanded.pairs.keys(), ...expanded.unknown]) {
        if (!byCluster.has(cluster))
          byCluster.set(cluster, { changes: [], sequenceNumbers: [...memberRecords] });
      }

      const deltas: Array<{ delta: ClusterDelta; version: number }> = [];
      for (const [cluster, group] of byCluster) {
        try {
          const delta = await computeClusterDelta(deps.readers, cluster, group.changes, {
            nowMs,
            staleAfterMs: deps.staleAfterMs,
            states,
            ownership: expanded.pairs.get(cluster) ?? [],
            ownershipUnknown: expanded.unknown.has(cluster),
          });
          if (isEmptyDelta(delta)) continue;
          const version = await deps.store.nextVersion(cluster);
          await deps.store.appendLog(logEntryOf(delta, version, nowMs, maxLogEntryBytes));
          versions[cluster] = version;
          deltas.push({ delta, version });
        } catch (error) {
          log('live fan-out failed for a cluster', { cluster, error: String(error) });
          failed.push(...group.sequenceNumbers);
        }
      }
      if (deltas.length === 0)
        return { failedSequenceNumbers: failed, versions, messages: 0, bytes: 0, gone: 0 };

      const scopes = new Map<string, Promise<VisibleScope>>();
      const scopeOf = (caller: Caller): Promise<VisibleScope> => {
        const id = `${caller.username}\u0000${caller.roles.admin}\u0000${caller.roles.teacher}`;
        let scope = scopes.get(id);
        if (scope === undefined) {
          scope = resolveVisibleScope(caller, deps.ownership);
          scopes.set(id, scope);
        }
        return scope;
      };
      let messages = 0;
      let bytes = 0;
      let gone = 0;
      await mapWithConcurrency(connections, deps.concurrency ?? 16, async (connection) => {
        if (connection.token_expires_at <= nowMs) {
          // Its token expired: closed (the sweep does the same for idle ones).
          await deps.poster.close(connection.connection_id).catch(() => undefined);
          await deps.store.deleteConnection(connection.connection_id);
          return;
        }
        const caller = callerOfConnection(connection);
        const scope = await scopeOf(caller);
        for (const { delta, version } of deltas) {
          let outgoing: LiveServerMessage[] = messagesForCaller(delta, version, caller, scope);
          if (delta.ownershipUnknown && !caller.roles.admin) {
            outgoing = [{ type: 'resync', cluster: delta.cluster, version, reason: 'ownership' }];
          }
          const texts = outgoing.map((message) => JSON.stringify(message));
          if (texts.some((text) => Buffer.byteLength(text) > maxMessageBytes)) {
            // Only a reload can bring it up to date: nothing else of this change is sent.
            outgoing = [{ type: 'resync', cluster: delta.cluster, version, reason: 'too_large' }];
          }
          for (const message of outgoing) {
            try {
              const outcome = await deps.poster.post(connection.connection_id, message);
              if (outcome === 'gone') {
                gone += 1;
                await deps.store.deleteConnection(connection.connection_id);
                return;
              }
              messages += 1;
              bytes += Buffer.byteLength(JSON.stringify(message));
            } catch (error) {
              // One unreachable connection never fails the batch (its records would be re-sent to all).
              log('live post failed', { connectionId: connection.connection_id, error: String(error) });
              return;
            }
          }
        }
      });
      return { failedSequenceNumbers: failed, versions, messages, bytes, gone };
    },
  };
}

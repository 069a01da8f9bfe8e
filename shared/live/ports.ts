import type { VmKey } from '#shared/domain/vm-record.ts';
import type { LiveRuntimeTuple, LiveServerMessage, LiveVersions, LiveVmChange } from './protocol.ts';

/**
 * Ports of the live updates: where connections, cluster versions and the recent-delta log are kept
 * (`LiveConnections` table) and how a message reaches a connection (API Gateway's management API,
 * or the local gateway's copy of it). Times are epoch milliseconds.
 */

/** An open connection and who is behind it (roles decided at connect, from the verified token). */
export interface LiveConnection {
  readonly connection_id: string;
  readonly username: string;
  readonly admin: boolean;
  readonly teacher: boolean;
  /** the token's `exp`: the connection closes then unless the client re-authenticates */
  readonly token_expires_at: number;
  readonly connected_at: number;
}

/** One entry of a cluster's recent-delta log: what changed at that version, before per-user filtering. */
export interface LiveLogEntry {
  readonly cluster_id: string;
  readonly version: number;
  readonly at: number;
  /** changed fields per VM, as an admin sees them (filtered and disclosed per connection on replay) */
  readonly vms: readonly LiveVmChange[];
  readonly removed: readonly VmKey[];
  /** VMs whose only change was CPU/memory use (the `runtime` frame's tuples; absent: none) */
  readonly runtime?: readonly LiveRuntimeTuple[];
  /** ownership changed at this version: the users concerned cannot replay it (they reload) */
  readonly ownership: boolean;
  /** whose views the ownership change concerns; null: unknown (every non-admin reloads) */
  readonly ownership_users: readonly string[] | null;
  /** the entry was too large to keep: whoever needs it reloads */
  readonly too_large: boolean;
}

export interface LiveStore {
  putConnection(connection: LiveConnection): Promise<void>;
  getConnection(connectionId: string): Promise<LiveConnection | null>;
  /** Sets a re-authenticated connection's token expiry; false when the connection is gone. */
  updateTokenExpiry(connectionId: string, tokenExpiresAt: number): Promise<boolean>;
  deleteConnection(connectionId: string): Promise<void>;
  /** Every stored connection (one Query of one partition). */
  listConnections(): Promise<LiveConnection[]>;
  /** Atomically increments and returns a cluster's version. */
  nextVersion(clusterId: string): Promise<number>;
  /** The current version of every cluster that has one. */
  readVersions(): Promise<LiveVersions>;
  appendLog(entry: LiveLogEntry): Promise<void>;
  /** A cluster's log entries with a version above `afterVersion`, oldest first, at most `limit`. */
  readLog(clusterId: string, afterVersion: number, limit: number): Promise<LiveLogEntry[]>;
}

/** Outcome of a post: delivered, or the connection no longer exists (API Gateway's 410). */
export type PostOutcome = 'sent' | 'gone';

export interface LivePoster {
  post(connectionId: string, message: LiveServerMessage): Promise<PostOutcome>;
  /** Closes a connection (API Gateway's DeleteConnection); a gone one is fine. */
  close(connectionId: string): Promise<void>;
}

import type { HistoryBucket, HistoryBucketSource } from '#shared/domain/metrics-history.ts';
import type {
  Assignment,
  AssignmentInput,
  AssignmentSource,
  ClassDetails,
  ClassInfo,
  ClassInfoInput,
  ClassMember,
  ClassRole,
  ClassVm,
} from '#shared/domain/ownership.ts';
import type { ClusterRuntime, RuntimeSample } from '#shared/domain/runtime-stats.ts';
import type {
  ClusterState,
  ClusterStateInput,
  GlobalRunStats,
  Lease,
  LeaseKind,
} from '#shared/domain/sync-state.ts';
import type {
  NewStoredVm,
  PendingAction,
  StoredPending,
  StoredVm,
  StoredVmAttributes,
  VmKey,
} from '#shared/domain/vm-record.ts';

/**
 * Repository interfaces (ports) of pve-inventory's store. The sync engine and the API depend on
 * these only; `shared/store/dynamodb/*` implements them on DynamoDB. All times are epoch ms.
 */

/** What a write operation cost, so that the sync can report `writes`. */
export interface WriteReport {
  /** items written (successful puts, updates and deletes) */
  writes: number;
  /**
   * write capacity units consumed, as DynamoDB reports them (ReturnConsumedCapacity), including
   * refused conditional writes, which are billed too; equals the request count when not reported.
   */
  capacityUnits: number;
}

// ---------------------------------------------------------------------------------------------
// Inventory

/** One page of a cluster's VMs. `cursor` is opaque; null when there is no further page. */
export interface VmPage {
  items: StoredVm[];
  cursor: string | null;
}

export interface ListVmsOptions {
  /** page size, default 1,000 */
  limit?: number;
  /** cursor of the previous page */
  cursor?: string | null;
  /** start after this VMID (ignored when `cursor` is given): lets the API resume mid-page */
  startAfterVmid?: number | null;
  consistentRead?: boolean;
}

/**
 * A change to one VM found by an observation: only the attributes that differ from the stored item.
 * Applied only if no newer observation and no newer pending user action has written the item (see
 * README "Write guard").
 */
export interface VmChange {
  key: VmKey;
  /** epoch ms when the observation started (not when it ended) */
  observedAt: number;
  /** changed attributes; `null` values are stored as null */
  set: Partial<StoredVmAttributes>;
}

/** A removal found by a successful listing. */
export interface VmRemoval {
  key: VmKey;
  observedAt: number;
}

/** Result of guarded writes: which were applied, which the guard refused (or whose item is gone). */
export interface GuardedWriteResult extends WriteReport {
  applied: VmKey[];
  rejected: VmKey[];
}

/** A VM with a `sync_error` (projection of the errors index). */
export interface ErrorVmSummary {
  cluster_id: string;
  vmid: number;
  name: string;
  node: string;
  status: string;
  sync_error: string;
  observed_at: number;
}

/** A user action to record as pending. */
export interface PendingRequest {
  key: VmKey;
  action: PendingAction;
  /** epoch ms when the action was requested */
  since: number;
  upid?: string | null;
  /** a pending action older than this is over and may be replaced (default 120 s) */
  expiryMs?: number;
}

export type SetPendingResult =
  | { outcome: 'set' }
  /** an action younger than its expiry is under way: no second Proxmox call */
  | { outcome: 'already-pending'; pending: StoredPending }
  | { outcome: 'not-found' };

export interface InventoryRepository {
  /** One page of a cluster's VMs in vmid order. Throws `InvalidCursorError` for a bad cursor. */
  listClusterVms(clusterId: string, options?: ListVmsOptions): Promise<VmPage>;
  /** Every VM of a cluster (all pages). */
  listAllClusterVms(clusterId: string, options?: { consistentRead?: boolean }): Promise<StoredVm[]>;
  getVm(key: VmKey, options?: { consistentRead?: boolean }): Promise<StoredVm | null>;
  /** Any number of VMs by key (BatchGet by 100, UnprocessedKeys retried); missing ones are left out. */
  getVms(keys: readonly VmKey[], options?: { consistentRead?: boolean }): Promise<StoredVm[]>;
  /** A cluster's VMs with a sync_error (sparse index). */
  listErrorVms(clusterId: string): Promise<ErrorVmSummary[]>;
  /** Creates VMs seen for the first time; refused (rejected) when the item exists already. */
  putNew(items: readonly NewStoredVm[]): Promise<GuardedWriteResult>;
  /**
   * Unconditional whole-item writes in batches of 25 (UnprocessedItems retried with jittered
   * backoff and a cap; then `BatchWriteIncompleteError`). For bulk loads, not for observations.
   */
  batchPut(items: readonly NewStoredVm[]): Promise<WriteReport>;
  /** Writes only the changed attributes of each VM, guarded by observation time. */
  applyChanges(changes: readonly VmChange[]): Promise<GuardedWriteResult>;
  /** Deletes removed guests, guarded like {@link applyChanges}. */
  deleteVms(removals: readonly VmRemoval[]): Promise<GuardedWriteResult>;
  /** Records a user action under way, unless one younger than its expiry is. */
  setPending(request: PendingRequest): Promise<SetPendingResult>;
  /** Attaches the Proxmox task id to the pending action recorded at `since`. */
  setPendingUpid(key: VmKey, since: number, upid: string): Promise<boolean>;
  /**
   * Ends the pending action recorded at `since` (and only that one), optionally writing the
   * confirmed state observed at `observedAt`. Returns false if that action is no longer pending.
   */
  clearPending(
    key: VmKey,
    since: number,
    options?: { observedAt?: number; set?: Partial<StoredVmAttributes> },
  ): Promise<boolean>;
  /** Sets (or with null removes) the idle rule's announced shutdown time; false when the VM is gone. */
  setIdleWarning(key: VmKey, shutdownAt: number | null): Promise<boolean>;
  /** "Keep running": the idle clock restarts at `at` and any announced idle shutdown is removed. */
  resetIdleClock(key: VmKey, at: number): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Sync state

export interface WriteNodeRuntimeInput {
  clusterId: string;
  node: string;
  stats: ReadonlyMap<number, RuntimeSample>;
  /** epoch ms when the observation started */
  observedAt: number;
}

/** A cluster's stored runtime set, as a writer reads it before replacing it. */
export interface StoredRuntimeSet {
  runtime: ClusterRuntime;
  /** the set's time (null: no set stored yet) */
  observedAt: number | null;
  /** chunks of the stored set (0: none), so a smaller new set deletes the leftovers */
  chunkCount: number;
  /** keys of runtime items of the previous per-node format, deleted by the next write */
  legacyKeys: { pk: string; sk: string }[];
}

export interface WriteRuntimeSetInput {
  clusterId: string;
  /** every node's samples and time, as the new set holds them */
  runtime: ClusterRuntime;
  /** the new set's time, later than `previous.observedAt` (see nextRuntimeSetTime) */
  observedAt: number;
  previous: StoredRuntimeSet;
}

/**
 * Lease kinds kept on the cluster state item (attribute `quick_lease`) instead of an item of their
 * own: a quick pass's acquire is one conditional update of the state item and its release rides on
 * the state write that ends the pass (2 writes per pass fewer). A full sync's lease, which records
 * progress for minutes, keeps its own item.
 */
export const STATE_ITEM_LEASE_KINDS: ReadonlySet<LeaseKind> = new Set(['quick']);

export type LeaseResult = { acquired: true; lease: Lease } | { acquired: false; holder: Lease | null };

export interface AcquireLeaseInput {
  clusterId: string;
  kind: LeaseKind;
  /** unique per run (e.g. the Lambda request id) */
  owner: string;
  ttlMs: number;
  /** defaults to the repository's clock */
  nowMs?: number;
}

/**
 * Metrics history buckets (per cluster, node and minute or quarter hour; see
 * shared/domain/metrics-history.ts). Each bucket is put once, never updated.
 */
export interface MetricsHistoryRepository extends HistoryBucketSource {
  /** Puts buckets (a bucket of the same node and time is replaced). */
  putBuckets(buckets: readonly HistoryBucket[]): Promise<WriteReport>;
}

/** Every version a list depends on, read together. */
export interface ReadVersions {
  /** every cluster's state, with its `inventory_version` and per-node `runtime_at` */
  states: ClusterState[];
  /** changes on every ownership write; null before the first */
  ownershipVersion: string | null;
}

export interface SyncStateRepository {
  getClusterState(clusterId: string): Promise<ClusterState | null>;
  /** Every cluster's state (one Query). */
  listClusterStates(): Promise<ClusterState[]>;
  /** The cluster states and the ownership version, in the same one Query. */
  readVersions(): Promise<ReadVersions>;
  /**
   * Gives the cluster's VM items a new `inventory_version` (after a write to them; never before:
   * a reader must not keep older items under the new version).
   */
  bumpInventoryVersion(clusterId: string): Promise<WriteReport>;
  /** Gives the ownership data a new version (after a write to it). */
  bumpOwnershipVersion(): Promise<WriteReport>;
  putClusterState(state: ClusterStateInput): Promise<WriteReport>;
  /**
   * Sets the given top-level attributes (creating the state if missing). With `releaseLease`, the
   * same write releases that lease when it is one kept on the state item ({@link
   * STATE_ITEM_LEASE_KINDS}) and `owner` still holds it; `leaseReleased` says whether it did (false:
   * not held, or a kind kept in its own item — release it with releaseLease).
   */
  updateClusterState(
    clusterId: string,
    patch: Partial<Omit<ClusterStateInput, 'cluster_id'>>,
    options?: { releaseLease?: { kind: LeaseKind; owner: string } },
  ): Promise<WriteReport & { leaseReleased: boolean }>;
  /**
   * A cluster's runtime stats (its packed set); with `nodes`, only those nodes'. Items of the
   * previous per-node format are not read here (see readRuntimeSet).
   */
  readRuntime(clusterId: string, options?: { nodes?: readonly string[] }): Promise<ClusterRuntime>;
  /**
   * What a writer needs before replacing a cluster's set: the set with its time and chunk count,
   * and the items of the previous per-node format (which stand in for the set until one is written).
   */
  readRuntimeSet(clusterId: string): Promise<StoredRuntimeSet>;
  /**
   * Runtime stats of a few nodes across clusters in one BatchGet of their clusters' first chunks (a
   * cluster with more than one chunk is completed with a Query), keyed by cluster id.
   */
  readNodeRuntimes(
    nodes: readonly { clusterId: string; node: string }[],
  ): Promise<Map<string, ClusterRuntime>>;
  /** Replaces a cluster's runtime set (deleting its leftovers and any per-node item of the previous format). */
  writeRuntimeSet(input: WriteRuntimeSetInput): Promise<WriteReport>;
  /**
   * Replaces one node's samples in its cluster's set (a read, then {@link writeRuntimeSet}; not for
   * concurrent writers of a cluster: the sync, under its lease, writes a whole set once per pass).
   */
  writeNodeRuntime(input: WriteNodeRuntimeInput): Promise<WriteReport>;
  /** Drops a node from its cluster's set (read, then write; nothing when it is not there). */
  deleteNodeRuntime(clusterId: string, node: string): Promise<WriteReport>;
  /** Takes the lease on (cluster, kind) if it is free, expired, or already the owner's (renewal). */
  acquireLease(input: AcquireLeaseInput): Promise<LeaseResult>;
  /** Releases the lease if `owner` holds it; false otherwise. */
  releaseLease(clusterId: string, kind: LeaseKind, owner: string): Promise<boolean>;
  getLease(clusterId: string, kind: LeaseKind): Promise<Lease | null>;
  /** Records the holder's progress on its lease; false when `owner` no longer holds it. */
  recordLeaseProgress(
    clusterId: string,
    kind: LeaseKind,
    owner: string,
    progress: { done: number; total: number; at: number },
  ): Promise<boolean>;
  putGlobalRunStats(stats: GlobalRunStats): Promise<WriteReport>;
  getGlobalRunStats(mode: GlobalRunStats['mode']): Promise<GlobalRunStats | null>;
}

// ---------------------------------------------------------------------------------------------
// Ownership

/** Identifies one assignment (a user may hold a VM through several sources). */
export interface AssignmentKey {
  username: string;
  cluster_id: string;
  vmid: number;
  source: AssignmentSource;
  class_id?: string | null;
}

export interface OwnershipRepository {
  putAssignment(assignment: AssignmentInput): Promise<WriteReport>;
  /** Many assignments at once (batch writes, retried; `BatchWriteIncompleteError` on give-up). */
  putAssignments(assignments: readonly AssignmentInput[]): Promise<WriteReport>;
  deleteAssignment(key: AssignmentKey): Promise<boolean>;
  /** A user's assignments; suspended ones only when asked. */
  listAssignmentsOfUser(username: string, options?: { includeSuspended?: boolean }): Promise<Assignment[]>;
  /**
   * The assignments stored under these keys (suspended included; absent ones are left out, order
   * not kept): batch reads with bounded concurrency, for imports that check many pairs at once.
   */
  getAssignments(keys: readonly AssignmentKey[]): Promise<Assignment[]>;
  /** Every assignment of a VM (suspended included). */
  listOwnersOfVm(key: VmKey): Promise<Assignment[]>;
  /** Every assignment (admin listing; a paginated scan). */
  listAllAssignments(): Promise<Assignment[]>;
  /**
   * Suspends every assignment and class link of a removed VM (found through the `ByVm` index);
   * `createdBefore` leaves out assignments made after that time (for a VMID reused since).
   */
  suspendVm(key: VmKey, atMs: number, options?: { createdBefore?: number }): Promise<WriteReport>;

  putClass(info: ClassInfoInput): Promise<WriteReport>;
  getClass(classId: string): Promise<ClassDetails | null>;
  listClasses(): Promise<ClassInfo[]>;
  /** Deletes a class with its members, VM links and class-sourced assignments. */
  deleteClass(classId: string): Promise<WriteReport>;
  addClassMember(classId: string, username: string, role: ClassRole): Promise<WriteReport>;
  removeClassMember(classId: string, username: string): Promise<WriteReport>;
  /** Classes a user is in, with the role. */
  listClassesOfUser(username: string): Promise<ClassMember[]>;
  /**
   * Links a VM to a class, assigned to `student` (or nobody): writes the link and the student's
   * `class` assignment in one transaction, replacing a previous student's assignment.
   */
  assignClassVm(classId: string, key: VmKey, student: string | null, atMs: number): Promise<WriteReport>;
  /** Removes a VM from a class (and its student's class assignment). */
  removeClassVm(classId: string, key: VmKey): Promise<WriteReport>;
  /** Classes holding a VM (to let their teachers see and act on it). */
  listClassesOfVm(key: VmKey): Promise<ClassVm[]>;
}

/** The three repositories together, as wired in an entry point. */
export interface Repositories {
  inventory: InventoryRepository;
  syncState: SyncStateRepository;
  ownership: OwnershipRepository;
  /** metrics history, kept in the SyncState table */
  history: MetricsHistoryRepository;
}

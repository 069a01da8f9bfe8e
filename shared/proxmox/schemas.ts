import * as z from 'zod';

/*
 * Response schemas for the Proxmox VE calls the client makes. They accept what real PVE 8.x and 9.x servers
 * send (0/1 booleans, numbers as strings, fields missing for stopped guests, offline nodes or guests
 * without a stats record, extra fields added by newer versions) and reject anything else.
 */

/** PVE booleans: JSON 0/1 (the norm), sometimes true/false or "0"/"1". Output: boolean. */
export const PveBoolean = z
  .union([z.literal(0), z.literal(1), z.boolean(), z.literal('0'), z.literal('1')])
  .transform((v) => v === 1 || v === true || v === '1');

/** A number that may arrive as a numeric string (e.g. QEMU `memory` since 8.1, `cpulimit`). */
export const PveNumber = z.union([
  z.number().finite(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a number or a numeric string')
    .transform(Number),
]);

const NonNegative = PveNumber.pipe(z.number().min(0));
const VmId = PveNumber.pipe(z.number().int().min(1).max(999_999_999));

/** `/version`. */
export const VersionSchema = z.looseObject({
  version: z.string().min(1),
  release: z.string().optional(),
  repoid: z.string().optional(),
});
export type PveVersion = z.infer<typeof VersionSchema>;

/** A guest row of `/cluster/resources`. Only id/type/vmid/node/status are always there. */
export const GuestResourceSchema = z.looseObject({
  id: z.string().min(1),
  type: z.enum(['qemu', 'lxc']),
  vmid: VmId,
  node: z.string().min(1),
  status: z.string().min(1),
  name: z.string().optional(),
  uptime: NonNegative.optional(),
  cpu: NonNegative.optional(),
  maxcpu: NonNegative.optional(),
  mem: NonNegative.optional(),
  maxmem: NonNegative.optional(),
  disk: NonNegative.optional(),
  maxdisk: NonNegative.optional(),
  netin: NonNegative.optional(),
  netout: NonNegative.optional(),
  diskread: NonNegative.optional(),
  diskwrite: NonNegative.optional(),
  template: PveBoolean.optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
  hastate: z.string().optional(),
  pool: z.string().optional(),
});
export type GuestResource = z.infer<typeof GuestResourceSchema>;

/** A node row of `/cluster/resources`; stats only with Sys.Audit and a stats record. */
export const NodeResourceSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal('node'),
  node: z.string().min(1),
  status: z.string().min(1),
  uptime: NonNegative.optional(),
  cpu: NonNegative.optional(),
  maxcpu: NonNegative.optional(),
  mem: NonNegative.optional(),
  maxmem: NonNegative.optional(),
  disk: NonNegative.optional(),
  maxdisk: NonNegative.optional(),
  level: z.string().optional(),
});
export type NodeResource = z.infer<typeof NodeResourceSchema>;

const GUEST_OR_NODE = new Set(['qemu', 'lxc', 'openvz', 'node']);

/** Rows of other types (storage, pool, sdn, ...), kept loosely. */
export const OtherResourceSchema = z.looseObject({
  id: z.string(),
  type: z.string().refine((t) => !GUEST_OR_NODE.has(t), 'malformed guest or node row'),
});

/** One row of `/cluster/resources`, tagged. A malformed guest or node row fails instead of passing as "other". */
export const ResourceRowSchema = z.union([
  GuestResourceSchema.transform((row) => ({ kind: 'guest' as const, row })),
  NodeResourceSchema.transform((row) => ({ kind: 'node' as const, row })),
  OtherResourceSchema.transform(() => ({ kind: 'other' as const })),
]);

/** `/cluster/resources` (no type filter), split into guest rows and node rows; other rows are dropped. */
export const ClusterResourcesSchema = z.array(ResourceRowSchema).transform((rows) => {
  const guests: GuestResource[] = [];
  const nodes: NodeResource[] = [];
  for (const r of rows) {
    if (r.kind === 'guest') guests.push(r.row);
    else if (r.kind === 'node') nodes.push(r.row);
  }
  return { guests, nodes };
});

/** `/cluster/status` cluster row (absent on a single node without a cluster). */
export const ClusterStatusClusterSchema = z.looseObject({
  type: z.literal('cluster'),
  id: z.string(),
  name: z.string(),
  nodes: PveNumber.optional(),
  version: PveNumber.optional(),
  quorate: PveBoolean,
});
/** `/cluster/status` node row. */
export const ClusterStatusNodeSchema = z.looseObject({
  type: z.literal('node'),
  id: z.string(),
  name: z.string().min(1),
  nodeid: PveNumber.optional(),
  ip: z.string().optional(),
  local: PveBoolean.optional(),
  online: PveBoolean,
  level: z.string().optional(),
});
export const ClusterStatusSchema = z.array(z.union([ClusterStatusClusterSchema, ClusterStatusNodeSchema]));
export type ClusterStatusRow = z.infer<typeof ClusterStatusSchema>[number];

/** One entry of `/nodes`. */
export const NodeListEntrySchema = z.looseObject({
  node: z.string().min(1),
  status: z.string().min(1),
  ssl_fingerprint: z.string().optional(),
  level: z.string().optional(),
  uptime: NonNegative.optional(),
  cpu: NonNegative.optional(),
  maxcpu: NonNegative.optional(),
  mem: NonNegative.optional(),
  maxmem: NonNegative.optional(),
  disk: NonNegative.optional(),
  maxdisk: NonNegative.optional(),
});
export const NodeListSchema = z.array(NodeListEntrySchema);
export type NodeListEntry = z.infer<typeof NodeListEntrySchema>;

const ConfigScalar = z.union([z.string(), z.number().finite()]);

/**
 * Raw `lxc.*` keys of a container config, which PVE returns as `[key, value]` pairs under `lxc`
 * (hand-tuned containers; every container created from an OCI image on PVE 9.1+).
 */
const RawLxcSchema = z.array(z.array(ConfigScalar));

/**
 * QEMU or LXC config. Known keys are typed (`lxc` holds the raw `lxc.*` pairs); every other key
 * (netN, ipconfigN, disks, ...) must be a scalar string or number, as PVE's config API only ever
 * returns those.
 */
export const GuestConfigSchema = z
  .object({
    name: z.string().optional(),
    hostname: z.string().optional(),
    cores: PveNumber.optional(),
    sockets: PveNumber.optional(),
    vcpus: PveNumber.optional(),
    memory: ConfigScalar.optional(),
    ostype: z.string().optional(),
    agent: ConfigScalar.optional(),
    tags: z.string().optional(),
    template: PveBoolean.optional(),
    lock: z.string().optional(),
    digest: z.string().optional(),
    boot: z.string().optional(),
    bootdisk: z.string().optional(),
    lxc: RawLxcSchema.optional(),
  })
  .catchall(ConfigScalar);
export type GuestConfig = z.infer<typeof GuestConfigSchema>;

/** `ha` of `status/current`; `state` is null until the HA manager has processed a newly added resource. */
const HaSchema = z.looseObject({ managed: PveBoolean.optional(), state: z.string().nullish() });

/** `status/current` of a QEMU VM or an LXC container. */
export const GuestStatusSchema = z.looseObject({
  vmid: VmId.optional(),
  status: z.string().min(1),
  qmpstatus: z.string().optional(),
  name: z.string().optional(),
  pid: PveNumber.optional(),
  cpus: NonNegative.optional(),
  cpu: NonNegative.optional(),
  mem: NonNegative.optional(),
  maxmem: NonNegative.optional(),
  disk: NonNegative.optional(),
  maxdisk: NonNegative.optional(),
  uptime: NonNegative.optional(),
  agent: PveBoolean.optional(),
  template: PveBoolean.optional(),
  lock: z.string().optional(),
  tags: z.string().optional(),
  ha: HaSchema.optional(),
});
export type GuestStatus = z.infer<typeof GuestStatusSchema>;

const IpAddressSchema = z.looseObject({
  'ip-address': z.string().min(1),
  'ip-address-type': z.string().min(1),
  prefix: PveNumber.optional(),
});

/** QGA `guest-network-get-interfaces` entry. */
export const AgentInterfaceSchema = z.looseObject({
  name: z.string(),
  'hardware-address': z.string().optional(),
  'ip-addresses': z.array(IpAddressSchema).optional(),
  statistics: z.looseObject({}).optional(),
});
/** `agent/network-get-interfaces`: the agent's array wrapped in `result`. */
export const AgentInterfacesSchema = z.looseObject({ result: z.array(AgentInterfaceSchema) });
export type AgentInterface = z.infer<typeof AgentInterfaceSchema>;

/** LXC `/interfaces` entry: old servers only send name/hwaddr/inet/inet6. */
export const LxcInterfaceSchema = z.looseObject({
  name: z.string(),
  hwaddr: z.string().optional(),
  'hardware-address': z.string().optional(),
  inet: z.string().optional(),
  inet6: z.string().optional(),
  'ip-addresses': z.array(IpAddressSchema).optional(),
});
/** LXC `/interfaces`: `null` for a stopped container. */
export const LxcInterfacesSchema = z.array(LxcInterfaceSchema).nullable();
export type LxcInterface = z.infer<typeof LxcInterfaceSchema>;

/** Validation pattern of a UPID (pve-common Tools.pm). */
export const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** A power action's answer: the UPID of the task it started. */
export const UpidSchema = z.string().regex(UPID_PATTERN, 'not a UPID');

/** `/nodes/{node}/tasks/{upid}/status`; `exitstatus` only once stopped. */
export const TaskStatusSchema = z.looseObject({
  upid: z.string().optional(),
  node: z.string().optional(),
  type: z.string().optional(),
  id: z.string().optional(),
  user: z.string().optional(),
  status: z.enum(['running', 'stopped']),
  exitstatus: z.string().optional(),
});
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** Node named inside a UPID (where its status must be queried), or null if it is not a UPID. */
export function nodeOfUpid(upid: string): string | null {
  return UPID_PATTERN.exec(upid)?.[1] ?? null;
}

/** A JSON error body: `message` only on pve-http-server ≥ 5.2.0, `errors` on 400s. */
export const ErrorBodySchema = z.looseObject({
  message: z.string().optional(),
  errors: z.record(z.string(), z.unknown()).optional(),
});

import * as z from 'zod';
import { ApiVmSchema, ClusterIdSchema, VmKeySchema } from '#shared/domain/vm-record.ts';

/**
 * The live-update protocol (WebSocket, JSON text frames), the same in AWS (API Gateway WebSocket
 * API) and locally (`ws://…/ws` on the local gateway).
 *
 * Client → server, routed by `action` (API Gateway's `$request.body.action`):
 * - `hello`: sent once after connecting. Without `versions` the client starts fresh: it gets the
 *   current version of every cluster and then loads `GET /api/vms`. With `versions` (what it has,
 *   per cluster) it resumes: it gets the missed deltas, or a `resync` for a cluster whose gap
 *   cannot be replayed.
 * - `ping`: keeps the connection from the 10-minute idle cut; answered with `pong`.
 * - `reauth`: a fresh token for the same user before the current one expires.
 *
 * Server → client, by `type`: `hello`, `delta`, `runtime`, `resync`, `pong`, `reauth`, `error`.
 * Every `delta`, `runtime` and `resync` carries the cluster's version, which only grows: a client
 * keeps the highest it has seen per cluster and sends them in its next `hello`. A `delta` and a
 * `runtime` frame from the same change share its version.
 */

/** A cluster version: 0 before the first change. */
export const LiveVersionSchema = z.number().int().nonnegative();

/** What a client has: the last version seen per cluster. */
export const LiveVersionsSchema = z.record(ClusterIdSchema, LiveVersionSchema);
export type LiveVersions = z.infer<typeof LiveVersionsSchema>;

export const HelloRequestSchema = z.object({
  action: z.literal('hello'),
  versions: LiveVersionsSchema.optional(),
});
export const PingRequestSchema = z.object({ action: z.literal('ping') });
export const ReauthRequestSchema = z.object({
  action: z.literal('reauth'),
  token: z.string().min(1).max(16_384),
});

/** Every message a client may send. */
export const LiveClientMessageSchema = z.discriminatedUnion('action', [
  HelloRequestSchema,
  PingRequestSchema,
  ReauthRequestSchema,
]);
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>;

/**
 * One VM's change: its key and the fields of the API's VM shape that changed (all of them when the
 * VM is new to the client: it then parses as a whole `ApiVm`).
 */
export const LiveVmChangeSchema = ApiVmSchema.partial().extend({
  cluster_id: z.string(),
  vmid: z.number().int(),
});
export type LiveVmChange = z.infer<typeof LiveVmChangeSchema>;

export const HelloMessageSchema = z.object({
  type: z.literal('hello'),
  /** the current version of every cluster that has one */
  versions: LiveVersionsSchema,
  /** when the connection closes unless the client re-authenticates (ISO 8601) */
  expires_at: z.iso.datetime(),
});
export const DeltaMessageSchema = z.object({
  type: z.literal('delta'),
  cluster: z.string(),
  version: LiveVersionSchema,
  vms: z.array(LiveVmChangeSchema),
  removed: z.array(VmKeySchema),
});
export type DeltaMessage = z.infer<typeof DeltaMessageSchema>;

/** One VM's runtime figures: `[vmid, cpu_usage, memory_usage]` (the API's percentages). */
export const LiveRuntimeTupleSchema = z.tuple([
  z.number().int().nonnegative(),
  z.number().nonnegative(),
  z.number().nonnegative(),
]);
export type LiveRuntimeTuple = z.infer<typeof LiveRuntimeTupleSchema>;

/**
 * A compact frame for VMs whose only change is CPU and memory use (every quick pass moves them for
 * every running VM): at most one per connection per cluster per stream batch, beside the `delta` of
 * the same change when there is one. Merge rule: set `cpu_usage` and `memory_usage` of each VM the
 * client holds; ignore tuples of VMs it does not hold. Any other field's change (status, uptime
 * after a boot, …) comes in a `delta`; `uptime` does not move with these figures (the API derives it
 * from the boot time).
 */
export const RuntimeMessageSchema = z.object({
  type: z.literal('runtime'),
  cluster: z.string(),
  version: LiveVersionSchema,
  vms: z.array(LiveRuntimeTupleSchema),
});
export type RuntimeMessage = z.infer<typeof RuntimeMessageSchema>;

/** Why a client must reload a cluster's VMs instead of applying deltas. */
export const ResyncReasonSchema = z.enum(['gap', 'unknown_version', 'ownership', 'too_large']);
export type ResyncReason = z.infer<typeof ResyncReasonSchema>;

export const ResyncMessageSchema = z.object({
  type: z.literal('resync'),
  cluster: z.string(),
  version: LiveVersionSchema,
  reason: ResyncReasonSchema,
});
export type ResyncMessage = z.infer<typeof ResyncMessageSchema>;

export const PongMessageSchema = z.object({ type: z.literal('pong') });
export const ReauthMessageSchema = z.object({ type: z.literal('reauth'), expires_at: z.iso.datetime() });
export const ErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.enum(['bad_request', 'unauthorized', 'internal']),
  message: z.string(),
});

/** Every message the server sends. */
export const LiveServerMessageSchema = z.discriminatedUnion('type', [
  HelloMessageSchema,
  DeltaMessageSchema,
  RuntimeMessageSchema,
  ResyncMessageSchema,
  PongMessageSchema,
  ReauthMessageSchema,
  ErrorMessageSchema,
]);
export type LiveServerMessage = z.infer<typeof LiveServerMessageSchema>;

/** Close code of a connection whose token expired without a `reauth` (application range). */
export const CLOSE_TOKEN_EXPIRED = 4001;

/**
 * Parses a client frame; the error names what was wrong (sent back as an `error` message).
 */
export function parseClientMessage(
  body: string | null | undefined,
): { ok: true; message: LiveClientMessage } | { ok: false; error: string } {
  if (body === null || body === undefined || body === '') return { ok: false, error: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, error: 'message is not JSON' };
  }
  const parsed = LiveClientMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  return { ok: false, error: `${path === '' ? 'message' : path}: ${issue?.message ?? 'invalid'}` };
}

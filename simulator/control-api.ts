import * as z from 'zod';
import { ENDPOINT_CLASSES, type EndpointClass } from '#simulator/types.ts';

const EndpointClassSchema = z.enum(ENDPOINT_CLASSES as [EndpointClass, ...EndpointClass[]]);

/** A fault switched through `POST /_sim/clusters/{id}/faults`. */
export const FaultRequestSchema = z.discriminatedUnion('fault', [
  z.object({ fault: z.literal('clusterDown'), down: z.boolean() }),
  z.object({ fault: z.literal('endpointDown'), node: z.string(), down: z.boolean() }),
  z.object({ fault: z.literal('nodeOffline'), node: z.string(), offline: z.boolean() }),
  z.object({ fault: z.literal('latency'), class: EndpointClassSchema, ms: z.number().int().min(0) }),
  z.object({
    fault: z.literal('errorRate'),
    class: EndpointClassSchema,
    rate: z.number().min(0).max(1),
    status: z.number().int().min(400).max(599).optional(),
  }),
  z.object({ fault: z.literal('hang'), class: EndpointClassSchema, hang: z.boolean() }),
  z.object({ fault: z.literal('malformed'), class: EndpointClassSchema, malformed: z.boolean() }),
  z.object({ fault: z.literal('tokenRevoked'), revoked: z.boolean() }),
]);
export type FaultRequest = z.infer<typeof FaultRequestSchema>;

/** Body of `POST /_sim/clusters/{id}/tokens`: an extra (possibly restricted) API token. */
export const TokenRequestSchema = z.object({
  tokenId: z.string().regex(/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/),
  secret: z.string().min(1),
  vmids: z.array(z.number().int()).optional(),
  privileges: z.array(z.string()).optional(),
  sysAudit: z.boolean().optional(),
});

/** Body of `POST /_sim/clusters/{id}/guests`. */
export const CreateGuestSchema = z.object({
  name: z.string().optional(),
  node: z.string().optional(),
  type: z.enum(['qemu', 'lxc']).optional(),
  status: z.string().optional(),
});

/** Body of `POST /_sim/clusters/{id}/guests/{vmid}/status`. */
export const GuestStatusSchema = z.object({ status: z.string() });

/**
 * Body of `POST /_sim/clusters/{id}/guests/{vmid}/ip`: the address the guest's first NIC gets (as
 * after a DHCP renewal). Loopback only: the simulator's guests live in 127.0.0.0/8.
 */
export const GuestIpSchema = z.object({
  ip: z.ipv4().refine((ip) => ip.startsWith('127.'), 'must be a loopback address (127.0.0.0/8)'),
});

/** Body of `POST /_sim/clusters/{id}/nodes/{node}/version`: the major version the node runs. */
export const NodeVersionSchema = z.object({ version: z.union([z.literal(8), z.literal(9)]) });

/** Body of `POST /_sim/clusters/{id}/guests/{vmid}/ha`: when the HA manager processes the resource. */
export const HaRequestSchema = z.object({ crmDelayMs: z.number().int().min(0).optional() });

/** Body of `POST /_sim/advance`. */
export const AdvanceSchema = z.object({ ms: z.number().int().min(0) });

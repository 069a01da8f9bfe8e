import type { ClusterEgressTarget } from './sync-clusters-config.ts';

/**
 * Egress rules of the Proxmox-facing security group, derived per cluster from the clusters file
 * and the deployment settings (pure: no CDK, unit-tested). A cluster's API port goes to its
 * endpoints' own addresses where they are IPs, to `proxmoxCidrs` where they are host names; its
 * RDP/SSH probe ports go to the guests' networks (`guestCidrs`, else `proxmoxCidrs`, else its
 * endpoints' addresses). HTTPS to the VPC endpoints is added by the network construct itself.
 */

/** Security groups hold at most 60 outbound rules by default (a quota that can be raised). */
export const MAX_EGRESS_RULES = 60;

/** Rules the network construct adds beside these: HTTPS to DynamoDB and to Secrets Manager. */
export const ENDPOINT_EGRESS_RULES = 2;

/** One outbound TCP rule. */
export interface EgressRule {
  readonly cidr: string;
  readonly port: number;
  readonly description: string;
}

/** What {@link planSyncEgress} derives the rules from. */
export interface SyncEgressInput {
  readonly targets: readonly ClusterEgressTarget[];
  /** Networks of the Proxmox nodes (required when an endpoint is a host name). */
  readonly proxmoxCidrs?: readonly string[];
  /** Networks of the guests probed on RDP/SSH. @default - `proxmoxCidrs`, else the endpoints' addresses */
  readonly guestCidrs?: readonly string[];
}

/** The planned rules, and what the deployment should show as warnings. */
export interface SyncEgressPlan {
  readonly rules: EgressRule[];
  readonly warnings: string[];
}

/** Thrown when the egress cannot be derived as configured; the message names the setting to change. */
export class SyncEgressConfigError extends Error {
  override readonly name = 'SyncEgressConfigError';
}

/** Derives the outbound rules of the sync functions' security group. */
export function planSyncEgress(input: SyncEgressInput): SyncEgressPlan {
  const proxmox = [...new Set(input.proxmoxCidrs ?? [])].sort();
  const guests = [...new Set(input.guestCidrs ?? [])].sort();
  const hostnames = input.targets.flatMap((target) =>
    target.endpoints.filter((e) => e.cidr === null).map((e) => `${target.clusterId}: ${e.host}`),
  );
  if (hostnames.length > 0 && proxmox.length === 0) {
    throw new SyncEgressConfigError(
      `pveInventory.proxmoxCidrs is required: the endpoints ${hostnames.join(', ')} are host names, so the network the sync may reach cannot be derived from the clusters file; list the CIDRs of the Proxmox nodes (e.g. ["10.20.0.0/24"])`,
    );
  }
  const rules = new Map<string, EgressRule>();
  const add = (cidr: string, port: number, description: string) => {
    const key = `${cidr} ${port}`;
    if (!rules.has(key)) rules.set(key, { cidr, port, description });
  };
  const warnings: string[] = [];
  for (const target of input.targets) {
    const endpointCidrs: string[] = [];
    for (const endpoint of target.endpoints) {
      const cidrs = endpoint.cidr === null ? proxmox : [endpoint.cidr];
      for (const cidr of cidrs) {
        endpointCidrs.push(cidr);
        add(cidr, endpoint.port, `Proxmox API port ${endpoint.port}`);
      }
    }
    const probeCidrs = guests.length > 0 ? guests : proxmox.length > 0 ? proxmox : endpointCidrs;
    if (guests.length === 0 && proxmox.length === 0) {
      warnings.push(
        `cluster ${target.clusterId}: RDP/SSH probes (ports ${target.probePorts.join(', ')}) may only reach its endpoints' addresses: set pveInventory.guestCidrs to the guests' networks so that reachability can be probed`,
      );
    }
    for (const cidr of [...new Set(probeCidrs)]) {
      for (const port of target.probePorts) add(cidr, port, `Reachability probe port ${port}`);
    }
  }
  const planned = [...rules.values()].sort((a, b) => a.cidr.localeCompare(b.cidr) || a.port - b.port);
  const maxRules = MAX_EGRESS_RULES - ENDPOINT_EGRESS_RULES;
  if (planned.length > maxRules) {
    throw new SyncEgressConfigError(
      `the sync functions would need ${planned.length} outbound rules (networks × ports), more than the ${maxRules} a security group holds beside the endpoint rules: list the clusters' networks as a few wider CIDRs in pveInventory.proxmoxCidrs and pveInventory.guestCidrs`,
    );
  }
  return { rules: planned, warnings };
}

import { describe, expect, it } from 'vitest';
import type { ClusterEgressTarget } from '#infra/constructs/sync-clusters-config.ts';
import { MAX_EGRESS_RULES, planSyncEgress, SyncEgressConfigError } from '#infra/constructs/sync-egress.ts';

const byIp: ClusterEgressTarget = {
  clusterId: 'lab-a',
  endpoints: [
    { host: '10.0.0.1', cidr: '10.0.0.1/32', port: 8006 },
    { host: '10.0.0.2', cidr: '10.0.0.2/32', port: 8006 },
  ],
  probePorts: [3389, 22],
};
const byName: ClusterEgressTarget = {
  clusterId: 'lab-b',
  endpoints: [{ host: 'pve-b1.example.org', cidr: null, port: 8443 }],
  probePorts: [13389, 2222],
};
const rendered = (rules: { cidr: string; port: number }[]) =>
  rules.map((rule) => `${rule.cidr}:${rule.port}`);

describe('planSyncEgress', () => {
  it('opens each cluster’s API port to its endpoints’ own addresses and its probe ports to the guest networks', () => {
    const plan = planSyncEgress({ targets: [byIp], guestCidrs: ['10.30.0.0/16'] });
    expect(rendered(plan.rules)).toEqual([
      '10.0.0.1/32:8006',
      '10.0.0.2/32:8006',
      '10.30.0.0/16:22',
      '10.30.0.0/16:3389',
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it('requires proxmoxCidrs when an endpoint is a host name, naming the setting and the endpoint', () => {
    expect(() => planSyncEgress({ targets: [byIp, byName] })).toThrow(SyncEgressConfigError);
    expect(() => planSyncEgress({ targets: [byIp, byName] })).toThrow(
      /pveInventory\.proxmoxCidrs is required: the endpoints lab-b: pve-b1\.example\.org are host names/,
    );
  });

  it('uses proxmoxCidrs for host-name endpoints and, without guestCidrs, for the probes', () => {
    const plan = planSyncEgress({ targets: [byIp, byName], proxmoxCidrs: ['10.20.0.0/24'] });
    expect(rendered(plan.rules)).toEqual([
      '10.0.0.1/32:8006',
      '10.0.0.2/32:8006',
      '10.20.0.0/24:22',
      '10.20.0.0/24:2222',
      '10.20.0.0/24:3389',
      '10.20.0.0/24:8443',
      '10.20.0.0/24:13389',
    ]);
    // never the whole internet
    expect(plan.rules.some((rule) => rule.cidr.endsWith('/0'))).toBe(false);
  });

  it('warns that probes reach only the endpoints when no guest or cluster network is configured', () => {
    const plan = planSyncEgress({ targets: [byIp] });
    expect(rendered(plan.rules)).toContain('10.0.0.1/32:3389');
    expect(plan.warnings).toEqual([expect.stringMatching(/cluster lab-a: .*set pveInventory\.guestCidrs/)]);
  });

  it('refuses more rules than a security group holds, suggesting wider CIDRs', () => {
    const many: ClusterEgressTarget = {
      clusterId: 'big',
      endpoints: Array.from({ length: MAX_EGRESS_RULES }, (_, i) => ({
        host: `10.9.${i}.1`,
        cidr: `10.9.${i}.1/32`,
        port: 8006,
      })),
      probePorts: [3389, 22],
    };
    expect(() => planSyncEgress({ targets: [many], guestCidrs: ['10.30.0.0/16'] })).toThrow(
      /would need 62 outbound rules .*pveInventory\.proxmoxCidrs/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCli } from '#simulator/cli-options.ts';

describe('parseCli', () => {
  it('maps the documented flags to simulator options', () => {
    const { options, writeConfig } = parseCli([
      '--clusters',
      '3',
      '--nodes',
      '2',
      '--vms',
      '200',
      '--seed',
      '9',
      '--port',
      '8006',
      '--token',
      'root@pam!sim=0b6e1f4a-1111-4222-8333-444455556666',
      '--rdp-port',
      '23389',
      '--ssh-port',
      '20022',
      '--no-probe-listeners',
      '--task-delay',
      '10',
      '--churn',
      '5',
      '--write-config',
      'out/clusters.json',
    ]);
    expect(options).toEqual(
      expect.objectContaining({
        clusters: 3,
        nodesPerCluster: 2,
        guestsPerCluster: 200,
        seed: 9,
        basePort: 8006,
        tokenId: 'root@pam!sim',
        tokenSecret: '0b6e1f4a-1111-4222-8333-444455556666',
        probePorts: { rdp: 23389, ssh: 20022 },
        probeListeners: false,
        taskDelayMs: 10,
        churnPerMinute: 5,
      }),
    );
    expect(writeConfig).toBe('out/clusters.json');
  });

  it('takes the agent delay and the node layout', () => {
    const { options } = parseCli(['--agent-delay', '3000', '--node-layout', 'contiguous']);
    expect(options).toMatchObject({ agentNotRunningDelayMs: 3000, nodeLayout: 'contiguous' });
    expect(() => parseCli(['--node-layout', 'random'])).toThrow(CliUsageError);
  });

  it('speaks PVE 9 unless --pve-version says 8, and rejects other versions', () => {
    expect(parseCli([]).options.pveVersion).toBe(9);
    expect(parseCli(['--pve-version', '8']).options.pveVersion).toBe(8);
    expect(parseCli(['--pve-version', '9']).options.pveVersion).toBe(9);
    expect(() => parseCli(['--pve-version', '7'])).toThrow(/--pve-version must be 8 or 9/);
  });

  it('rejects malformed tokens and numbers', () => {
    expect(() => parseCli(['--token', 'nonsense'])).toThrow(CliUsageError);
    expect(() => parseCli(['--vms', 'many'])).toThrow(CliUsageError);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack/index.ts';
import { formatStatusLine } from '#local/stack/status-line.ts';
import { BulkActionResponseSchema } from '#shared/http/schemas/bulk.ts';
import { DynamoDbAuditTrail } from '#shared/store/dynamodb/audit-repository.ts';
import { localDocumentClient } from '../../helpers/dynamodb.ts';

/**
 * Admin alerts on the local stack (DynamoDB Local, the simulator, the real state machines and task
 * handlers): a cluster taken down by a simulator fault is alerted once when it has been unsynced
 * longer than the staleness cutoff, and once when it syncs again — on the status line and in the
 * audit trail — however many quick passes ran in between. A bulk action through the local gateway
 * whose power calls Proxmox fails is alerted once the same way (the route runs in this process).
 */

let stack: LocalStack;
let dataDir: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pve-alerts-'));
  const probeBase = 20_000 + Math.floor(Math.random() * 20_000);
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `alerts-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 10,
      seed: 5,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
    },
    fullIntervalMs: 600_000,
    quickIntervalMs: 1_000,
    // Long enough that a busy machine's healthy cluster never looks unsynced.
    staleAfterMs: 15_000,
    logLevel: 'SILENT',
    publishState: false,
    seed: false,
  });
  await stack.firstSync;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('cluster alerts on the local stack', () => {
  it('alerts an outage once after the cutoff, and its end once, on the status line and in the audit trail', async () => {
    const simulator = stack.simulator;
    const down = simulator?.clusters[1];
    if (simulator === undefined || down === undefined) throw new Error('no simulated cluster to take down');
    expect(stack.alerts).toEqual([]);
    const startedAt = Date.now();

    simulator.faults.setClusterDown(down.id, true);
    const unsynced = await eventually(() => {
      const alert = stack.alerts.find((a) => a.kind === 'cluster_unsynced');
      expect(alert).toBeDefined();
      return alert;
    }, 90_000);
    expect(unsynced?.details).toMatchObject({ cluster_id: down.id, cutoff_ms: 15_000 });
    // Not before the cutoff: the cluster's last success (which the outage froze) is at least the
    // cutoff older than the alert, and it came before the fault.
    const frozen = (await stack.repositories.syncState.listClusterStates()).find(
      (s) => s.cluster_id === down.id,
    );
    const lastSuccessAt = frozen?.last_success_at ?? Number.NaN;
    expect(lastSuccessAt).toBeLessThanOrEqual(startedAt);
    expect((unsynced?.at ?? 0) - lastSuccessAt).toBeGreaterThanOrEqual(15_000);
    // Quick passes go on failing for a while: still one alert.
    await sleep(3_000);
    expect(stack.alerts.map((a) => a.kind)).toEqual(['cluster_unsynced']);
    const line = formatStatusLine({
      runner: stack.runner.status(),
      clusters: await stack.repositories.syncState.listClusterStates(),
      nowMs: Date.now(),
      alerts: stack.alerts,
    });
    expect(line).toContain(`ALERT `);
    expect(line).toContain(`Cluster ${down.name} not synced for over`);

    simulator.faults.setClusterDown(down.id, false);
    await eventually(() =>
      expect(stack.alerts.map((a) => a.kind)).toEqual(['cluster_unsynced', 'cluster_healthy']),
    );
    await sleep(3_000);
    expect(stack.alerts).toHaveLength(2);

    const { documentClient } = localDocumentClient();
    const audit = new DynamoDbAuditTrail(documentClient, stack.tableNames.audit);
    const page = await eventually(async () => {
      const result = await audit.listAudit({ actor: 'system' }, 10);
      expect(result.entries).toHaveLength(2);
      return result;
    }, 10_000);
    expect(page.entries.map((e) => [e.action, e.target.cluster_id, e.result])).toEqual([
      ['alert.cluster_healthy', down.id, 'success'],
      ['alert.cluster_unsynced', down.id, 'failed'],
    ]);
    expect(stack.alerts.every((a) => a.details.cluster_id === down.id)).toBe(true);
  });
});

describe('failed bulk actions on the local stack', () => {
  it('alerts a bulk action whose power call Proxmox fails once, on the status line and in the audit trail', async () => {
    const simulator = stack.simulator;
    const cluster = simulator?.clusters[0];
    if (simulator === undefined || cluster === undefined) throw new Error('no simulated cluster');
    const guest = simulator
      .groundTruth(cluster.id)
      .find((g) => !g.template && g.lock === undefined && g.hastate === undefined && g.status === 'running');
    if (guest === undefined) throw new Error('no running plain guest');
    const before = stack.alerts.length;
    simulator.faults.setErrorRate(cluster.id, 'power', 1, 500);
    try {
      const response = await fetch(`${stack.apiUrl}/api/bulk-actions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'stop', vms: [{ cluster_id: cluster.id, vmid: guest.vmid }] }),
      });
      expect(response.status).toBe(200);
      const answer = BulkActionResponseSchema.parse(await response.json());
      expect(answer.results.map((line) => line.error_code)).toEqual(['action_failed']);
      const raised = stack.alerts.slice(before);
      expect(raised.map((a) => [a.kind, a.details.source, a.details.reference])).toEqual([
        ['action_failed', 'bulk', answer.bulk_id],
      ]);
      const line = formatStatusLine({
        runner: stack.runner.status(),
        clusters: await stack.repositories.syncState.listClusterStates(),
        nowMs: Date.now(),
        alerts: stack.alerts,
      });
      expect(line).toContain(`Bulk stop failed: VM ${cluster.id}/${guest.vmid}`);
      const { documentClient } = localDocumentClient();
      const audit = new DynamoDbAuditTrail(documentClient, stack.tableNames.audit);
      const page = await audit.listAudit({ actor: 'system' }, 10);
      expect(page.entries.filter((e) => e.action === 'alert.action_failed').map((e) => e.request_id)).toEqual(
        [raised[0]?.id],
      );
    } finally {
      simulator.faults.setErrorRate(cluster.id, 'power', 0);
    }
  });
});

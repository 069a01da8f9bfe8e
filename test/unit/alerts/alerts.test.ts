import { describe, expect, it } from 'vitest';
import { type Alert, createAlertPublisher, describeAlert, InvalidAlertError } from '#shared/alerts/alerts.ts';
import {
  alertClusterTransitions,
  type ClusterAlertState,
  type ClusterAlertStateStore,
  judgeCluster,
} from '#shared/alerts/cluster-alerts.ts';
import { auditAlertSink, snsAlertSink } from '#shared/alerts/sinks.ts';
import { type ClusterState, ClusterStateSchema } from '#shared/domain/sync-state.ts';

const NOW = Date.parse('2026-12-07T08:00:00.000Z');
const CUTOFF = 600_000;

function state(clusterId: string, lastSuccessAgoMs: number | null, errors = 0): ClusterState {
  return ClusterStateSchema.parse({
    cluster_id: clusterId,
    cluster_name: `Cluster ${clusterId}`,
    last_success_at: lastSuccessAgoMs === null ? null : NOW - lastSuccessAgoMs,
    consecutive_errors: errors,
    last_error: errors > 0 ? 'connection refused' : null,
    updated_at: NOW,
  });
}

class MemoryStore implements ClusterAlertStateStore {
  readonly states = new Map<string, ClusterAlertState>();
  /** Simulates another run changing the state just before this one. */
  raceOn: string | null = null;
  async list() {
    return new Map(this.states);
  }
  async transition(clusterId: string, from: ClusterAlertState, to: ClusterAlertState) {
    if (this.raceOn === clusterId) this.states.set(clusterId, to);
    if ((this.states.get(clusterId) ?? 'healthy') !== from) return false;
    this.states.set(clusterId, to);
    return true;
  }
}

function recordingPublisher() {
  const delivered: Alert[] = [];
  const publishAlert = createAlertPublisher({
    sinks: [{ name: 'memory', deliver: async (alert) => void delivered.push(alert) }],
    logger: { error() {} },
    now: () => NOW,
    newId: () => `alert-${delivered.length + 1}`,
  });
  return { delivered, publishAlert };
}

describe('publishAlert', () => {
  it('describes an unsynced cluster in words with its last success and error', async () => {
    const { delivered, publishAlert } = recordingPublisher();
    const alert = await publishAlert('cluster_unsynced', {
      cluster_id: 'lab-a',
      cluster_name: 'Lab A',
      last_success_at: NOW - 700_000,
      last_error: 'connection refused',
      cutoff_ms: CUTOFF,
    });
    expect(alert).toMatchObject({
      id: 'alert-1',
      kind: 'cluster_unsynced',
      at: NOW,
      subject: 'Cluster Lab A not synced for over 10 min',
    });
    expect(alert.message).toBe(
      'Cluster Lab A (lab-a) has not synced successfully for longer than 10 min (last success: 2026-12-07T07:48:20.000Z). Last error: connection refused',
    );
    expect(delivered).toEqual([alert]);
  });

  it('describes a failed scheduled action (the port the schedules call)', () => {
    expect(
      describeAlert('action_failed', {
        source: 'schedule',
        action: 'shutdown',
        class_id: 'net-a',
        reference: 'night shutdown',
        failed: 3,
        error: 'Proxmox is unavailable',
      }),
    ).toEqual({
      subject: 'Scheduled shutdown failed: class net-a (3 failed)',
      message: 'Scheduled shutdown of class net-a failed (3 failed) (night shutdown): Proxmox is unavailable',
    });
  });

  it('refuses details its kind does not have, naming the field', async () => {
    const { publishAlert } = recordingPublisher();
    await expect(
      publishAlert('action_failed', { source: 'cron' as 'schedule', action: 'start', error: 'x' }),
    ).rejects.toThrow(
      new InvalidAlertError(
        'action_failed alert: source: Invalid option: expected one of "schedule"|"idle_rule"|"bulk"',
      ),
    );
  });

  it('delivers to every sink even when one fails, and logs the failure', async () => {
    const errors: unknown[] = [];
    const delivered: string[] = [];
    const publishAlert = createAlertPublisher({
      sinks: [
        { name: 'broken', deliver: async () => Promise.reject(new Error('SNS down')) },
        { name: 'ok', deliver: async (alert) => void delivered.push(alert.kind) },
      ],
      logger: { error: (message, attributes) => errors.push({ message, ...attributes }) },
    });
    await publishAlert('action_failed', { source: 'bulk', action: 'start', error: 'refused' });
    expect(delivered).toEqual(['action_failed']);
    expect(errors).toMatchObject([
      { message: 'could not deliver an alert', sink: 'broken', error: 'SNS down' },
    ]);
  });
});

describe('sinks', () => {
  const alert: Alert = {
    id: 'a1',
    kind: 'cluster_unsynced',
    at: NOW,
    subject: 'Cluster Lab A not synced for over 10 min',
    message: 'words',
    details: { cluster_id: 'lab-a', last_success_at: null, last_error: null, cutoff_ms: CUTOFF },
  };

  it('publishes words for e-mail and the alert as JSON for HTTPS webhooks', async () => {
    const sent: unknown[] = [];
    await snsAlertSink(
      { send: async (command: unknown) => sent.push(command) } as never,
      'arn:aws:sns:eu-west-1:123456789012:alerts',
    ).deliver(alert);
    const input = (sent[0] as { input: { Message: string; Subject: string; MessageStructure: string } })
      .input;
    expect(input).toMatchObject({ Subject: alert.subject, MessageStructure: 'json' });
    const message = JSON.parse(input.Message) as Record<string, string>;
    expect(message.email).toBe('words');
    expect(JSON.parse(message.https ?? '{}')).toMatchObject({
      id: 'a1',
      kind: 'cluster_unsynced',
      at: '2026-12-07T08:00:00.000Z',
    });
  });

  it('records an alert in the audit trail as the system actor', async () => {
    const entries: unknown[] = [];
    await auditAlertSink({ recordAudit: async (entry) => void entries.push(entry) }).deliver(alert);
    expect(entries).toEqual([
      {
        at: NOW,
        actor: 'system',
        action: 'alert.cluster_unsynced',
        target: { operation: 'cluster_unsynced', cluster_id: 'lab-a' },
        result: 'failed',
        status: 0,
        error_code: null,
        request_id: 'a1',
      },
    ]);
  });
});

describe('cluster alert transitions', () => {
  it('judges a cluster by its last success against the cutoff; one never synced by its errors', () => {
    expect(judgeCluster(state('a', CUTOFF), NOW, CUTOFF)).toBe('healthy');
    expect(judgeCluster(state('a', CUTOFF + 1), NOW, CUTOFF)).toBe('unsynced');
    expect(judgeCluster(state('a', null), NOW, CUTOFF)).toBe('healthy');
    expect(judgeCluster(state('a', null, 2), NOW, CUTOFF)).toBe('unsynced');
  });

  it('alerts each transition once, not at every evaluation', async () => {
    const store = new MemoryStore();
    const { delivered, publishAlert } = recordingPublisher();
    const run = (states: ClusterState[]) =>
      alertClusterTransitions({ states, store, publishAlert, nowMs: NOW, cutoffMs: CUTOFF });
    expect(await run([state('a', 1_000), state('b', 1_000)])).toEqual([]);
    expect(await run([state('a', 1_000), state('b', CUTOFF + 1, 3)])).toEqual(['b:cluster_unsynced']);
    expect(await run([state('a', 1_000), state('b', CUTOFF + 30_000, 4)])).toEqual([]);
    expect(await run([state('a', 1_000), state('b', 500)])).toEqual(['b:cluster_healthy']);
    expect(await run([state('a', 1_000), state('b', 500)])).toEqual([]);
    expect(delivered.map((a) => `${a.details.cluster_id}:${a.kind}`)).toEqual([
      'b:cluster_unsynced',
      'b:cluster_healthy',
    ]);
  });

  it('leaves the alert to the run that changed the state first', async () => {
    const store = new MemoryStore();
    store.raceOn = 'b';
    const { delivered, publishAlert } = recordingPublisher();
    expect(
      await alertClusterTransitions({
        states: [state('b', CUTOFF + 1, 1)],
        store,
        publishAlert,
        nowMs: NOW,
        cutoffMs: CUTOFF,
      }),
    ).toEqual([]);
    expect(delivered).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  actionFailedAlert,
  isAlertableLine,
  publishActionFailedSafely,
} from '#shared/actions/action-alerts.ts';
import type { BulkItemResult } from '#shared/actions/bulk-action.ts';
import { type Alert, createAlertPublisher, type PublishAlert } from '#shared/alerts/alerts.ts';

const line = (
  vmid: number,
  outcome: BulkItemResult['outcome'],
  errorCode: string | null,
  reason: string | null,
) =>
  ({ cluster_id: 'lab-a', vmid, outcome, status: null, upid: null, error_code: errorCode, reason }) as const;

const done = line(101, 'done', null, null);
const pending = line(102, 'pending', null, 'task-running');
const template = line(103, 'refused', 'conflict', 'VM 103 is a template');
const hidden = line(104, 'refused', 'not_found', 'VM not found');
const proxmoxRefused = line(105, 'refused', 'action_failed', 'VM is locked (backup)');
const unreachable = line(
  106,
  'failed',
  'proxmox_unavailable',
  'Proxmox is unavailable; the action was not run',
);

describe('which bulk lines are alerted', () => {
  it('alerts failures on the infrastructure side, not the caller’s refusals nor successes', () => {
    expect([done, pending, template, hidden, proxmoxRefused, unreachable].filter(isAlertableLine)).toEqual([
      proxmoxRefused,
      unreachable,
    ]);
  });

  it('makes no alert of a run without failed lines', () => {
    expect(
      actionFailedAlert([done, pending, template, hidden], {
        source: 'bulk',
        action: 'start',
        reference: 'b-1',
      }),
    ).toBeNull();
  });

  it('names the one failed VM', () => {
    expect(
      actionFailedAlert([done, proxmoxRefused], {
        source: 'schedule',
        action: 'shutdown',
        reference: 'net-a@1:scheduledShutdown',
        classId: 'net-a',
      }),
    ).toEqual({
      source: 'schedule',
      action: 'shutdown',
      cluster_id: 'lab-a',
      vmid: 105,
      class_id: 'net-a',
      reference: 'net-a@1:scheduledShutdown',
      failed: 1,
      error: 'VM is locked (backup)',
    });
  });

  it('counts several failed VMs in one alert', () => {
    expect(
      actionFailedAlert([unreachable, template, proxmoxRefused], {
        source: 'bulk',
        action: 'stop',
        reference: 'b-2',
      }),
    ).toEqual({
      source: 'bulk',
      action: 'stop',
      reference: 'b-2',
      failed: 2,
      error: 'Proxmox is unavailable; the action was not run (and 1 more)',
    });
  });
});

describe('publishing an action alert', () => {
  const recording = () => {
    const delivered: Alert[] = [];
    const errors: Record<string, unknown>[] = [];
    const logger = {
      error: (message: string, attributes: Record<string, unknown>) =>
        void errors.push({ message, ...attributes }),
    };
    const publish = createAlertPublisher({
      sinks: [{ name: 'memory', deliver: async (a) => void delivered.push(a) }],
      logger,
    });
    return { delivered, errors, logger, publish };
  };

  it('publishes the details it is given', async () => {
    const { delivered, logger, publish } = recording();
    await publishActionFailedSafely(
      publish,
      { source: 'bulk', action: 'stop', reference: 'b-3', error: 'x' },
      logger,
    );
    expect(delivered.map((a) => [a.kind, a.details.reference])).toEqual([['action_failed', 'b-3']]);
  });

  it('never throws: details the publisher refuses, or a publisher that fails, are logged', async () => {
    const { delivered, errors, logger, publish } = recording();
    await expect(
      publishActionFailedSafely(
        publish,
        { source: 'bulk', action: '', reference: 'b-4', error: 'x' },
        logger,
      ),
    ).resolves.toBeUndefined();
    expect(delivered).toEqual([]);
    const broken: PublishAlert = async () => {
      throw new Error('no topic');
    };
    await expect(
      publishActionFailedSafely(
        broken,
        { source: 'bulk', action: 'stop', reference: 'b-5', error: 'x' },
        logger,
      ),
    ).resolves.toBeUndefined();
    expect(errors.map((e) => [e.message, e.reference])).toEqual([
      ['could not publish an alert', 'b-4'],
      ['could not publish an alert', 'b-5'],
    ]);
    expect(String(errors[0]?.error)).toContain('action_failed alert: action');
  });

  it('does nothing without a publisher or without an alert', async () => {
    const { delivered, logger, publish } = recording();
    await publishActionFailedSafely(
      undefined,
      { source: 'bulk', action: 'stop', reference: 'b-6', error: 'x' },
      logger,
    );
    await publishActionFailedSafely(publish, null, logger);
    expect(delivered).toEqual([]);
  });
});

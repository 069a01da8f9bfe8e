import { describe, expect, it } from 'vitest';
import {
  powerActionAvailability,
  rdpAvailability,
  rdpFile,
  rdpFileName,
  splitPowerActions,
  sshAvailability,
  sshCommand,
} from '../src/features/vms/vm-rules.ts';
import { vmFixture } from './fixtures.ts';

describe('connect rules', () => {
  const windows = vmFixture({
    category: 'windows',
    rdp_available: true,
    ssh_available: false,
    ip: '10.1.2.3',
  });
  it('offers an RDP file for a running Windows guest with an IP that answers RDP', () => {
    expect(rdpAvailability(windows)).toEqual({ enabled: true });
  });
  it('explains why RDP is unavailable', () => {
    expect(rdpAvailability({ ...windows, category: 'linux' })).toEqual({
      enabled: false,
      reason: 'RDP is offered for Windows guests',
    });
    expect(rdpAvailability({ ...windows, ip: null })).toEqual({
      enabled: false,
      reason: 'no IP address known yet',
    });
    expect(rdpAvailability({ ...windows, rdp_available: false })).toEqual({
      enabled: false,
      reason: 'RDP does not answer',
    });
    expect(rdpAvailability({ ...windows, status: 'stopped' })).toEqual({
      enabled: false,
      reason: 'the VM is not running',
    });
  });
  it('offers SSH only when SSH answers on a known IP', () => {
    const linux = vmFixture({ ssh_available: true, ip: '10.0.0.5' });
    expect(sshAvailability(linux)).toEqual({ enabled: true });
    expect(sshAvailability({ ...linux, ssh_available: false })).toEqual({
      enabled: false,
      reason: 'SSH does not answer',
    });
    expect(sshAvailability({ ...linux, ip: null })).toEqual({
      enabled: false,
      reason: 'no IP address known yet',
    });
    expect(sshCommand(linux, 'alice')).toBe('ssh alice@10.0.0.5');
  });
  it('writes an .rdp file for the guest and a safe file name', () => {
    const file = rdpFile(windows, 'alice');
    expect(file.split('\r\n')).toContain('full address:s:10.1.2.3:3389');
    expect(file.split('\r\n')).toContain('username:s:alice');
    expect(rdpFileName({ name: 'Win 11 / exam', vmid: 300 })).toBe('Win-11-exam.rdp');
    expect(rdpFileName({ name: '///', vmid: 300 })).toBe('vm-300.rdp');
  });
});

describe('power actions', () => {
  it('offers start for a stopped VM and the others for a running one', () => {
    const stopped = vmFixture({ status: 'stopped' });
    const running = vmFixture({ status: 'running' });
    expect(powerActionAvailability(stopped, 'start').enabled).toBe(true);
    expect(powerActionAvailability(stopped, 'stop').enabled).toBe(false);
    expect(powerActionAvailability(running, 'start').enabled).toBe(false);
    for (const action of ['shutdown', 'reboot', 'stop'] as const) {
      expect(powerActionAvailability(running, action).enabled).toBe(true);
    }
  });
  it('offers nothing while an action is pending, for locked guests and templates', () => {
    expect(
      powerActionAvailability(vmFixture({ status: 'stopped', pending_action: 'start' }), 'start'),
    ).toEqual({ enabled: false, reason: 'starting… already' });
    expect(powerActionAvailability(vmFixture({ lock: 'backup' }), 'stop')).toEqual({
      enabled: false,
      reason: 'locked (backup)',
    });
    expect(
      powerActionAvailability(vmFixture({ is_template: true, status: 'stopped' }), 'start').enabled,
    ).toBe(false);
  });
});

describe('the Actions cell', () => {
  it('shows start or shut down as the button and the other available actions in the menu', () => {
    expect(splitPowerActions(vmFixture({ status: 'stopped' }))).toEqual({ primary: 'start', more: [] });
    expect(splitPowerActions(vmFixture({ status: 'running' }))).toEqual({
      primary: 'shutdown',
      more: ['reboot', 'stop'],
    });
    expect(splitPowerActions(vmFixture({ status: 'paused' }))).toEqual({
      primary: 'start',
      more: ['shutdown', 'reboot', 'stop'],
    });
  });
  it('offers nothing while an action is pending, for templates and for locked guests', () => {
    const none = { primary: null, more: [] };
    expect(
      splitPowerActions(vmFixture({ pending_action: 'start', pending_since: '2026-12-07T10:00:00.000Z' })),
    ).toEqual(none);
    expect(splitPowerActions(vmFixture({ is_template: true }))).toEqual(none);
    expect(splitPowerActions(vmFixture({ lock: 'backup' }))).toEqual(none);
  });
});

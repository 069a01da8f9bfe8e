import { describe, expect, it } from 'vitest';
import { SYNC_ERROR_MAX_LENGTH } from '#shared/domain/vm-record.ts';
import { ProxmoxAuthError } from '#shared/proxmox/errors.ts';
import { redactSecrets, toSyncError } from '#shared/sync/sync-error.ts';

const SECRET = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

describe('toSyncError', () => {
  it('names the error class and keeps the message on one line', () => {
    const error = new ProxmoxAuthError('GET /cluster/resources: authentication failed\n(401)', {
      clusterId: 'lab-a',
      endpointClass: 'resources',
      status: 401,
    });
    expect(toSyncError(error)).toBe('ProxmoxAuthError: GET /cluster/resources: authentication failed (401)');
  });

  it('redacts token secrets, authorization headers and tickets', () => {
    const text = toSyncError(
      new Error(
        `Authorization: PVEAPIToken=root@pam!sync=${SECRET} rejected; cookie=PVEAuthCookie=PVE:abc::sig; raw ${SECRET}`,
      ),
    );
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('PVE:abc::sig');
    expect(text).toContain('***');
  });

  it('redacts known secrets of any shape', () => {
    expect(redactSecrets('token hunter22 leaked', ['hunter22'])).toBe('token *** leaked');
  });

  it('keeps at most 500 characters', () => {
    const text = toSyncError(new Error('x'.repeat(2_000)));
    expect(text.length).toBe(SYNC_ERROR_MAX_LENGTH);
  });

  it('describes values that are not errors', () => {
    expect(toSyncError('boom')).toBe('boom');
    expect(toSyncError(new Error(''))).toBe('unknown error');
  });
});

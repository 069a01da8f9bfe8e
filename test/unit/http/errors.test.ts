import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  TooManyRequestsError,
  toErrorResponse,
  UnauthorizedError,
  UpstreamUnavailableError,
} from '#shared/http/errors.ts';

describe('toErrorResponse', () => {
  it('maps each HTTP error class to its status and code', () => {
    const cases: [HttpError, number, string][] = [
      [new BadRequestError('bad', [{ field: 'query.limit', message: 'too big' }]), 400, 'bad_request'],
      [new UnauthorizedError(), 401, 'unauthorized'],
      [new ForbiddenError(), 403, 'forbidden'],
      [new NotFoundError(), 404, 'not_found'],
      [new ConflictError('ambiguous', [{ cluster_id: 'a', vmid: 101 }]), 409, 'conflict'],
      [new TooManyRequestsError('slow down', 4.2), 429, 'too_many_requests'],
    ];
    for (const [error, status, code] of cases) {
      const mapped = toErrorResponse(error);
      expect(mapped.status).toBe(status);
      expect(mapped.body.error.code).toBe(code);
      expect(mapped.body.error.message).toBe(error.message);
      expect(mapped.unexpected).toBe(false);
    }
  });

  it('keeps details and headers of client errors', () => {
    expect(toErrorResponse(new ConflictError('ambiguous', [{ cluster_id: 'a', vmid: 101 }])).body).toEqual({
      error: { code: 'conflict', message: 'ambiguous', details: [{ cluster_id: 'a', vmid: 101 }] },
    });
    expect(toErrorResponse(new TooManyRequestsError('slow down', 4.2)).headers).toEqual({
      'retry-after': '5',
    });
    expect(toErrorResponse(new NotFoundError()).body.error.details).toBeUndefined();
  });

  it('turns an unknown error into a generic 500 without its detail', () => {
    const mapped = toErrorResponse(new Error('connect ECONNREFUSED token=s3cr3t'));
    expect(mapped).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'Internal server error' } },
      headers: {},
      unexpected: true,
    });
    expect(JSON.stringify(mapped.body)).not.toContain('s3cr3t');
  });

  it('hides the message of 5xx HTTP errors and of thrown non-errors', () => {
    expect(toErrorResponse(new HttpError(502, 'bad_gateway', 'proxmox said secret')).body.error.message).toBe(
      'Internal server error',
    );
    expect(toErrorResponse('a string').status).toBe(500);
  });

  it('gives admins the internal detail and everyone the request id', () => {
    const error = new UpstreamUnavailableError(
      'Proxmox is unavailable',
      'connect ECONNREFUSED 10.0.0.5:8006',
    );
    const user = toErrorResponse(error, { audience: 'user', requestId: 'r-1' });
    expect(user.status).toBe(502);
    expect(user.body).toEqual({
      error: { code: 'proxmox_unavailable', message: 'Proxmox is unavailable', request_id: 'r-1' },
    });
    expect(user.unexpected).toBe(true);
    expect(toErrorResponse(error, { audience: 'admin', requestId: 'r-1' }).body.error.detail).toBe(
      'connect ECONNREFUSED 10.0.0.5:8006',
    );
    const internal = new HttpError(409, 'x', 'refused', {
      details: [{ upid: 'UPID:pve1' }],
      adminOnlyDetails: true,
    });
    expect(toErrorResponse(internal, { audience: 'user' }).body.error.details).toBeUndefined();
    expect(toErrorResponse(internal, { audience: 'admin' }).body.error.details).toEqual([
      { upid: 'UPID:pve1' },
    ]);
    expect(toErrorResponse(new Error('boom'), { requestId: 'r-2' }).body.error.request_id).toBe('r-2');
  });

  it('names the error class after the condition', () => {
    expect(new NotFoundError().name).toBe('NotFoundError');
  });
});

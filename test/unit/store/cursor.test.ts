import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, VmCursorSchema } from '#shared/store/dynamodb/cursor.ts';
import { InvalidCursorError } from '#shared/store/dynamodb/errors.ts';

describe('cursor', () => {
  it('round-trips a key', () => {
    const cursor = encodeCursor({ cluster_id: 'lab-a', vmid: 1234 });
    expect(decodeCursor(cursor, VmCursorSchema)).toEqual({ cluster_id: 'lab-a', vmid: 1234 });
  });

  it.each([
    '',
    'not base64 json',
    encodeCursor({ cluster_id: 'lab-a' }),
    encodeCursor({ cluster_id: 'a', vmid: 1, x: 1 }),
  ])('rejects %j', (cursor) => {
    expect(() => decodeCursor(cursor, VmCursorSchema)).toThrow(InvalidCursorError);
  });
});

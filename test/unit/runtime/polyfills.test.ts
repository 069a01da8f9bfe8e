import { describe, expect, it } from 'vitest';
import '#shared/runtime/polyfills.ts';

describe('Promise.withResolvers polyfill', () => {
  it('resolves the promise it returns', async () => {
    const { promise, resolve } = Promise.withResolvers<number>();
    resolve(42);
    await expect(promise).resolves.toBe(42);
  });
});

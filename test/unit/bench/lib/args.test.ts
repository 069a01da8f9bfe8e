import { describe, expect, it } from 'vitest';
import { BenchArgsError, parseBenchArgs } from '../../../../bench/lib/args.ts';

describe('parseBenchArgs', () => {
  it('reads --json, --quick, --only and --save', () => {
    expect(parseBenchArgs(['--quick', '--json'])).toEqual({ json: true, quick: true, only: [], save: null });
    expect(parseBenchArgs(['--only=latency,cost', '--save=out'])).toEqual({
      json: false,
      quick: false,
      only: ['latency', 'cost'],
      save: 'out',
    });
  });

  it('refuses unknown flags and unknown measurements, naming the known ones', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(['--only=speed'])).toThrow(/known: latency/);
  });
});

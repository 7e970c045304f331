import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addToSketch,
  createSketch,
  mergeSketch,
  sketchQuantile,
} from '../../../src/analyze/quantile-sketch.js';

const durations = fc.array(fc.double({ min: 0.001, max: 1e7, noNaN: true }), {
  minLength: 1,
  maxLength: 300,
});

describe('quantile sketch', () => {
  it('gives each quantile within 1 % of the exact order statistic, with exact count, sum and max', () => {
    fc.assert(
      fc.property(durations, fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const sketch = createSketch();
        for (const v of values) addToSketch(sketch, v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = sorted[Math.floor(q * (sorted.length - 1))] ?? 0;
        expect(Math.abs(sketchQuantile(sketch, q) - exact)).toBeLessThanOrEqual(exact * 0.0101);
        expect(sketch.count).toBe(values.length);
        expect(sketch.max).toBe(sorted.at(-1));
      }),
    );
  });

  it('merges exactly: two halves merged equal one sketch of everything', () => {
    fc.assert(
      fc.property(durations, durations, (left, right) => {
        const a = createSketch();
        const b = createSketch();
        const all = createSketch();
        for (const v of left) addToSketch(a, v);
        for (const v of right) addToSketch(b, v);
        for (const v of [...left, ...right]) addToSketch(all, v);
        mergeSketch(a, b);
        expect([...a.buckets].sort((x, y) => x[0] - y[0])).toEqual(
          [...all.buckets].sort((x, y) => x[0] - y[0]),
        );
        expect(a.count).toBe(all.count);
        for (const q of [0.5, 0.95]) expect(sketchQuantile(a, q)).toBe(sketchQuantile(all, q));
      }),
    );
  });

  it('stays bounded: a million values spread over 12 decades use under 1,500 buckets', () => {
    const sketch = createSketch();
    for (let i = 0; i < 1_000_000; i++) addToSketch(sketch, 10 ** ((i % 12_000) / 1000 - 3));
    expect(sketch.buckets.size).toBeLessThan(1_500);
  });
});

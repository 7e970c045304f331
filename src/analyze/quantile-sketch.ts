/**
 * A mergeable, bounded quantile sketch for durations (ms): log-spaced buckets with 1 % relative
 * error (the DDSketch idea). Count, sum and max are exact; p50/p95 are within 1 % of a true sample
 * value. From 1 µs to 10⁹ ms it needs at most ~1,400 buckets, so memory is bounded whatever the
 * input, and merging is exact (bucket counts add) — a reservoir's merge would be random. Plain
 * data (a Map and numbers) so that it crosses worker_threads by structured clone.
 */
export interface QuantileSketch {
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Values below 1 µs. */
  zero: number;
  readonly buckets: Map<number, number>;
}

const RELATIVE_ERROR = 0.01;
const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
const MIN_VALUE = 0.001;

export const createSketch = (): QuantileSketch => ({
  count: 0,
  sum: 0,
  min: Number.POSITIVE_INFINITY,
  max: 0,
  zero: 0,
  buckets: new Map(),
});

export function addToSketch(sketch: QuantileSketch, value: number): void {
  if (!Number.isFinite(value) || value < 0) return;
  sketch.count += 1;
  sketch.sum += value;
  if (value < sketch.min) sketch.min = value;
  if (value > sketch.max) sketch.max = value;
  if (value < MIN_VALUE) {
    sketch.zero += 1;
    return;
  }
  const index = Math.ceil(Math.log(value) / LOG_GAMMA);
  sketch.buckets.set(index, (sketch.buckets.get(index) ?? 0) + 1);
}

export function mergeSketch(into: QuantileSketch, from: QuantileSketch): void {
  into.count += from.count;
  into.sum += from.sum;
  into.min = Math.min(into.min, from.min);
  into.max = Math.max(into.max, from.max);
  into.zero += from.zero;
  for (const [index, n] of from.buckets) into.buckets.set(index, (into.buckets.get(index) ?? 0) + n);
}

/** The value at quantile q (0..1) within 1 %, or 0 when empty. */
export function sketchQuantile(sketch: QuantileSketch, q: number): number {
  if (sketch.count === 0) return 0;
  const rank = Math.max(0, Math.min(sketch.count - 1, Math.floor(q * (sketch.count - 1))));
  if (rank < sketch.zero) return sketch.min;
  let seen = sketch.zero;
  const indexes = [...sketch.buckets.keys()].sort((a, b) => a - b);
  for (const index of indexes) {
    seen += sketch.buckets.get(index) ?? 0;
    if (seen > rank) {
      const estimate = (2 * GAMMA ** index) / (GAMMA + 1);
      return Math.min(sketch.max, Math.max(sketch.min, estimate));
    }
  }
  return sketch.max;
}

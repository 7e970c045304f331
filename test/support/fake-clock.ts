import type { Clock } from '../../src/core/ports.js';

/** A clock that only moves when told: tests fast-forward instead of sleeping. */
export class FakeClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 2, 1, 20, 0, 0)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(at: number): void {
    this.#now = at;
  }
}

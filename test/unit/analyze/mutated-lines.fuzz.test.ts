import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { buildReport } from '../../../src/analyze/analysis-report.js';
import { LogAggregator } from '../../../src/analyze/log-aggregator.js';
import { observe } from '../../../src/analyze/observation-mapper.js';

const recorded = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/analyze/recorded/postgresql.log',
);
const realLines = readFileSync(recorded, 'utf8').trimEnd().split('\n');

/** A small seeded PRNG (mulberry32): the same million lines on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const GARBAGE = [
  '\0',
  '\r',
  '\t',
  '\ufffd',
  'ÿ',
  '"',
  ',',
  '{',
  '}',
  ':  ',
  'ERROR:  ',
  'DETAIL:  ',
  '\u2028',
  '%',
];

function mutate(line: string, next: () => number): string {
  const at = Math.floor(next() * (line.length + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  switch (Math.floor(next() * 8)) {
    case 0:
      return line.slice(0, at); // truncated
    case 1:
      return `${line.slice(0, at)}${pick(GARBAGE)}${line.slice(at + 1)}`; // a character replaced
    case 2:
      return `${line.slice(0, at)}${pick(GARBAGE)}${line.slice(at)}`; // a character inserted
    case 3:
      return line.replace(/\d/g, () => String(Math.floor(next() * 10))); // other numbers
    case 4:
      return line.replace(
        / (LOG|ERROR|DETAIL|STATEMENT): {2}/,
        ` ${pick(['LOG', 'ERROR', 'FATAL', 'DETAIL', 'HINT', 'STATEMENT', 'FEHLER'])}:  `,
      );
    case 5:
      return `\t${line}`; // a stray continuation
    case 6:
      return line.slice(at) + line.slice(0, at); // rotated
    default:
      return '';
  }
}

describe('a million mutated real log lines', () => {
  it('never throws, accounts for every line, keeps memory bounded, and counts no more than is there', () => {
    const next = random(20261123);
    // A pool of real and mutated lines, each with what it holds; the million lines are drawn from it.
    const pool = Array.from({ length: 40_000 }, (_, i) => {
      const real = realLines[i % realLines.length] ?? '';
      const line = i < realLines.length || next() >= 0.3 ? real : mutate(real, next);
      return {
        line,
        deadlock: line.includes('ERROR:  deadlock detected') ? 1 : 0,
        wait: /still waiting for|detected deadlock while waiting for/.test(line) ? 1 : 0,
      };
    });
    const reader = createLogReader({ format: 'stderr', prefix: '%m [%p] %q%u@%d/%a ' });
    const aggregator = new LogAggregator();
    const total = 1_000_000;
    let deadlockLines = 0;
    let waitLines = 0;
    let maxBuffered = 0;
    for (let done = 0; done < total;) {
      const batch: string[] = [];
      for (let i = 0; i < 20_000 && done < total; i++, done++) {
        const drawn = pool[Math.floor(next() * pool.length)] ?? { line: '', deadlock: 0, wait: 0 };
        deadlockLines += drawn.deadlock;
        waitLines += drawn.wait;
        batch.push(drawn.line);
      }
      for (const event of reader.push(Buffer.from(`${batch.join('\n')}\n`)))
        aggregator.observe(observe(event));
      maxBuffered = Math.max(maxBuffered, reader.buffered);
    }
    for (const event of reader.end()) aggregator.observe(observe(event));
    const report = buildReport(aggregator.finish(), { inputs: [], since: null, until: null });
    const stats = reader.stats;
    // Lines with a `\r` or U+2028 inside still end only at `\n`.
    expect(stats.lines).toBe(total);
    const skipped = Object.values(stats.skipped).reduce((a, b) => a + b, 0);
    expect(stats.events + skipped).toBeLessThanOrEqual(total);
    expect(stats.events).toBeGreaterThan(total / 4);
    expect(report.entries).toBe(stats.events);
    expect(report.deadlocks.total).toBeGreaterThan(0);
    expect(report.deadlocks.total).toBeLessThanOrEqual(deadlockLines);
    expect(report.blocking.waits).toBeLessThanOrEqual(waitLines);
    expect(Object.values(report.blocking.endings).reduce((a, b) => a + b, 0)).toBe(report.blocking.waits);
    expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);
    expect(() => JSON.stringify(report)).not.toThrow();
  }, 120_000);
});

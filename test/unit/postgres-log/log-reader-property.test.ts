import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { interpretLogEvent } from '../../../src/postgres-log/log-signal.js';

/**
 * 100,000+ random and mutated lines (real fixture lines cut, duplicated, salted with garbage bytes,
 * stretched past the cap, random text) in random chunk sizes: the reader never throws and never
 * holds more than its caps allow.
 */
const FIXTURES = join(import.meta.dirname, '../../fixtures/postgres-logs');
const MAX_ENTRY = 64 * 1024;
const MAX_CHUNK = 16 * 1024;
/** A partial line and an entry (each capped) plus what format detection may hold. */
const BOUND = 2 * MAX_ENTRY + 64 * 1024 + MAX_CHUNK;
const RUNS = 40;
const LINES_PER_RUN = 700;

const linesOf = (file: string) =>
  readFileSync(join(FIXTURES, 'prefix-default', file))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Buffer.from(line));

const FORMATS = [
  { format: 'stderr', lines: linesOf('postgresql.log'), prefix: '%m [%p] %q%u@%d ' },
  { format: 'csvlog', lines: linesOf('postgresql.csv') },
  { format: 'jsonlog', lines: linesOf('postgresql.json') },
  { format: 'auto', lines: [...linesOf('postgresql.log'), ...linesOf('postgresql.json')] },
] as const;

function lineArbitrary(real: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const pick = fc.constantFrom(...real);
  return fc.oneof(
    { weight: 10, arbitrary: pick },
    {
      weight: 3,
      arbitrary: fc.tuple(pick, fc.nat()).map(([line, at]) => line.subarray(0, at % (line.length + 1))),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(pick, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 }))
        .map(([line, at, garbage]) => {
          const cut = at % (line.length + 1);
          return Buffer.concat([line.subarray(0, cut), Buffer.from(garbage), line.subarray(cut)]);
        }),
    },
    { weight: 2, arbitrary: pick.map((line) => Buffer.concat([Buffer.from('\t'), line])) },
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'grapheme', maxLength: 120 }).map((text) => Buffer.from(text)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('"', '""', '{', '\r', '\t', ',,,,', '\u0000').map((t) => Buffer.from(t)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pick, fc.integer({ min: MAX_ENTRY - 10, max: 8 * MAX_ENTRY }))
        .map(([line, size]) => Buffer.concat([line, Buffer.alloc(size, 'q')])),
    },
  );
}

describe('log reader under random and mutated input', () => {
  it.each(FORMATS)(
    '$format: no crash, bounded buffers, consistent stats',
    (setup) => {
      let lines = 0;
      fc.assert(
        fc.property(
          fc.array(lineArbitrary(setup.lines), { minLength: LINES_PER_RUN, maxLength: LINES_PER_RUN }),
          fc.array(fc.integer({ min: 1, max: MAX_CHUNK }), { minLength: 1, maxLength: 20 }),
          (generated, chunkSizes) => {
            lines += generated.length;
            const input = Buffer.concat(generated.flatMap((line) => [line, Buffer.from('\n')]));
            const reader = createLogReader({
              format: setup.format,
              maxEntryLength: MAX_ENTRY,
              ...('prefix' in setup ? { prefix: setup.prefix } : {}),
            });
            let events = 0;
            let peak = 0;
            let at = 0;
            for (let i = 0; at < input.length; i++) {
              const size = chunkSizes[i % chunkSizes.length] ?? 1;
              const batch = reader.push(input.subarray(at, at + size));
              at += size;
              events += batch.length;
              for (const event of batch) interpretLogEvent(event);
              peak = Math.max(peak, reader.buffered);
            }
            events += reader.end().length;
            expect(peak).toBeLessThanOrEqual(BOUND);
            expect(reader.buffered).toBe(0);
            const stats = reader.stats;
            expect(stats.events).toBe(events);
            expect(stats.bytes).toBe(input.length);
            expect(stats.events).toBeLessThanOrEqual(stats.lines);
          },
        ),
        { numRuns: RUNS },
      );
      expect(lines).toBeGreaterThanOrEqual(RUNS * LINES_PER_RUN);
    },
    120_000,
  );
});

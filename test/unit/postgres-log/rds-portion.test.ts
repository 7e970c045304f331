import { describe, expect, it } from 'vitest';
import { RdsPortionText } from '../../../src/postgres-log/rds-portion.js';

const text =
  '2026-11-23 23:49:43 UTC:127.0.0.1(36772):postgres@shop:[6153]:ERROR:  "quoted" \\ back\tslash é ☃ 😀\n\tnext line\n';
const responses = [text, 'second portion\n']
  .map((part, i) =>
    JSON.stringify({ LogFileData: part, AdditionalDataPending: i === 0, Marker: `1:${i}` }, null, 4),
  )
  .join('\n');

describe('RdsPortionText', () => {
  it.each([1, 2, 3, 5, 7, 16, 64, responses.length])(
    'unescapes LogFileData of consecutive responses fed in chunks of %i characters',
    (size) => {
      const out: string[] = [];
      const portions = new RdsPortionText((t) => out.push(t));
      for (let at = 0; at < responses.length; at += size) portions.push(responses.slice(at, at + size));
      expect(out.join('')).toBe(`${text}second portion\n`);
      expect(portions.buffered).toBeLessThan(100);
    },
  );

  it('reads \\u escapes (ASCII-only JSON) and a compact response, and ignores other keys', () => {
    const ascii = JSON.stringify({ Marker: 'x', LogFileData: text }).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(ascii).toContain('\\u00e9');
    const out: string[] = [];
    const portions = new RdsPortionText((t) => out.push(t));
    for (let at = 0; at < ascii.length; at += 3) portions.push(ascii.slice(at, at + 3));
    expect(out.join('')).toBe(text);
  });
});

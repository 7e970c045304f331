import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../../src', import.meta.url));

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

// Where a code is given: userError('X', …), transientError('X', …), new HindsightSdkError('X', …),
// { code: 'X' } (zod's own issue code 'custom' is not ours).
const CODE = /(?:userError|transientError|SdkError)\(\s*'([^']+)'|\bcode:\s*'([^']+)'/g;
const NOT_OURS = new Set(['custom']);

describe('error codes', () => {
  // The HTTP API's own codes (UNAUTHENTICATED, FORBIDDEN, INTERNAL…) are one word: they name the
  // outcome of a request, as HTTP status names do.
  it('follow one scheme: capitals, AREA_WHAT (RACE_BAD_OPTIONS, SERVE_PORT_IN_USE), no E_ prefix', () => {
    const codes = new Map<string, string>();
    for (const file of sources(src)) {
      for (const m of readFileSync(file, 'utf8').matchAll(CODE)) {
        const code = m[1] ?? m[2] ?? '';
        if (!NOT_OURS.has(code)) codes.set(code, file.slice(src.length + 1));
      }
    }
    expect(codes.size).toBeGreaterThan(40);
    const off = [...codes].filter(([code]) => !/^(?!E_)[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/.test(code));
    expect(off, 'codes outside the scheme, with a file that uses them').toEqual([]);
    // Options problems are named the same way for every command.
    const options = [...codes.keys()].filter((c) => c.endsWith('_OPTIONS'));
    expect(options.every((c) => c.endsWith('_BAD_OPTIONS'))).toBe(true);
  });
});

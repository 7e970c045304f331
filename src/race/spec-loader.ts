import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { userError } from '../core/errors.js';
import { parseIsolationSpec } from './isolation-spec-parser.js';
import type { RaceSpec } from './race-spec.js';
import { parseYamlSpec } from './yaml-spec-parser.js';

/** Reads a spec file: `.spec` is the isolation tester format, `.yaml`/`.yml` ours. */
export async function loadSpecFile(path: string): Promise<RaceSpec> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw userError(
      'RACE_SPEC_UNREADABLE',
      `cannot read ${path} (${String(cause)}); give the path of a .yaml or .spec file`,
      cause,
    );
  });
  const name = basename(path);
  if (path.endsWith('.spec')) return parseIsolationSpec(text, name);
  if (/\.ya?ml$/.test(path)) return parseYamlSpec(text, name);
  throw userError(
    'RACE_SPEC_FORMAT',
    `${path}: unknown spec format; use .yaml/.yml (Hindsight) or .spec (PostgreSQL isolation tester)`,
  );
}

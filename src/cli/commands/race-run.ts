import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { userError } from '../../core/errors.js';
import { openRaceServer } from '../../race/race-database.js';
import { resultsToJunit, formatResult, resultToJson } from '../../race/race-report.js';
import { parseSchedule, runRace } from '../../race/race-runner.js';
import type { RaceResult } from '../../race/race-runner.js';
import { parseRaceOptions, type RaceFlags } from '../../config/race-options.js';
import { OUTCOME_KINDS } from '../../race/race-spec.js';
import type { OutcomeKind } from '../../race/race-spec.js';
import { loadSpecFile } from '../../race/spec-loader.js';
import { EXIT } from '../report-error.js';

/** An output file we could not write after a long run would lose it: checked before running. */
async function checkWritable(option: string, path: string): Promise<void> {
  const full = resolve(path);
  const isDir = await stat(full).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) throw userError('RACE_BAD_OPTIONS', `${option} ${path} is a directory; give a file path`);
  const target = await access(full, constants.W_OK).then(
    () => undefined,
    // Not there yet: then its directory must exist and be writable.
    () =>
      access(dirname(full), constants.W_OK | constants.X_OK).then(
        () => undefined,
        (cause: unknown) => cause,
      ),
  );
  if (target !== undefined) {
    throw userError(
      'RACE_BAD_OPTIONS',
      `${option} ${path}: cannot write there (${dirname(full)} does not exist or is not writable); give a path in an existing, writable directory`,
      target,
    );
  }
}

/** Runs `hindsight race`: exit code 1 when a spec has a finding. */
export async function runRaceCommand(specs: readonly string[], flags: RaceFlags): Promise<void> {
  // Every option is checked before a server starts: a mistake costs no run.
  const options = parseRaceOptions(specs, flags, OUTCOME_KINDS);
  if (options.out !== null) await checkWritable('--out', options.out);
  if (options.fromLog !== null) {
    const { specFromLogFile } = await import('../../race/log-to-spec.js');
    const text = await specFromLogFile(options.fromLog);
    if (options.out) {
      await writeFile(options.out, text);
      process.stderr.write(
        `hindsight race: wrote the spec of the first deadlock in ${options.fromLog} to ${options.out}; run it with: hindsight race ${options.out}\n`,
      );
    } else process.stdout.write(text);
    return;
  }
  if (options.expected !== null) {
    await compareWithExpected(specs[0] ?? '', options.expected, options.db);
    return;
  }
  // parseRaceOptions checked the kinds against OUTCOME_KINDS.
  const allow = options.allow as readonly OutcomeKind[] | null;
  const { seed, maxSchedules } = options;
  const schedule = options.schedule !== null ? parseSchedule(options.schedule) : undefined;
  if (options.junit !== null) await checkWritable('--junit', options.junit);
  const loaded = await Promise.all(specs.map(loadSpecFile));
  const server = await openRaceServer(options.db ?? undefined);
  const results: RaceResult[] = [];
  try {
    for (const spec0 of loaded) {
      const spec = {
        ...spec0,
        ...(allow !== null ? { allow } : {}),
        ...(options.overlap ? { overlap: true } : {}),
      };
      const url = await server.createDatabase();
      const result = await runRace(spec, {
        url,
        ...(seed !== null ? { seed } : {}),
        ...(maxSchedules !== null ? { maxSchedules } : {}),
        ...(schedule ? { schedule } : {}),
        ...(options.first ? { stopAtFirst: true } : {}),
        shrink: options.shrink,
      });
      results.push(result);
      if (!options.json) process.stdout.write(`${formatResult(result)}\n\n`);
    }
  } finally {
    await server.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(results.map(resultToJson), null, 2)}\n`);
  if (options.junit) {
    await writeFile(options.junit, resultsToJunit(results));
    process.stderr.write(
      `hindsight race: wrote the JUnit report of ${results.length} spec(s) to ${options.junit}\n`,
    );
  }
  process.exitCode = results.some((r) => r.findings.length > 0) ? EXIT.finding : EXIT.ok;
}

/** Comparison mode, like pg_regress: exit 0 when the output is the expected file, 1 with a diff when not. */
async function compareWithExpected(specPath: string, expectedPath: string, db: string | null): Promise<void> {
  const expected = await readFile(expectedPath, 'utf8').catch((cause: unknown) => {
    throw userError(
      'RACE_BAD_OPTIONS',
      `--expected ${expectedPath}: cannot read it (${String(cause)}); give the path of an expected .out file`,
      cause,
    );
  });
  const spec = await loadSpecFile(specPath);
  const { everyInterleaving, isolationTesterOutput, unifiedDiff } =
    await import('../../race/isolation-output.js');
  // A spec it cannot compare is reported before a server starts.
  if (spec.permutations.length === 0) everyInterleaving(spec);
  const server = await openRaceServer(db ?? undefined);
  let actual: string;
  try {
    actual = await isolationTesterOutput(spec, { url: await server.createDatabase() });
  } finally {
    await server.close();
  }
  const diff = unifiedDiff(expected, actual, [expectedPath, `${specPath} (output)`]);
  if (diff === '') {
    process.stdout.write(`ok: the output of ${specPath} is identical to ${expectedPath}\n`);
    process.exitCode = EXIT.ok;
  } else {
    process.stdout.write(diff);
    process.exitCode = EXIT.finding;
  }
}

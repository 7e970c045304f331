import { createLogReader } from '../postgres-log/log-reader.js';
import type { LogFormat } from '../postgres-log/log-format.js';
import type { LogEvent } from '../core/log-event.js';
import { readInput, type LogInput } from './log-input.js';

/** How much of each file is read to recognise twins, and how many of its first entries compared. */
const HEAD_BYTES = 128 * 1024;
const SAMPLE = 40;
/** Share of the smaller sample that must also be in the other file. */
const SAME = 0.8;

/** Richer formats first: csvlog and jsonlog carry SQLSTATE, application and user on every entry. */
const RICHNESS: Readonly<Record<LogFormat, number>> = {
  jsonlog: 3,
  'cloudnative-pg': 3,
  csvlog: 2,
  stderr: 1,
  syslog: 1,
  journald: 1,
  cloudsql: 1,
  heroku: 1,
  azure: 1,
  rds: 1,
};

export interface Twin {
  readonly input: LogInput;
  readonly format: LogFormat | null;
  /** The input it duplicates, which is counted instead. */
  readonly of: LogInput;
}

export interface TwinCheck {
  /** The inputs to count, in the order given. */
  readonly keep: readonly LogInput[];
  readonly twins: readonly Twin[];
  readonly formats: ReadonlyMap<LogInput, LogFormat | null>;
}

/** An entry as every format writes it: time, pid and message. */
// To the second: a `%t` prefix has no milliseconds; the message's first line only.
const key = (e: LogEvent): string =>
  `${String(Math.floor((e.at ?? 0) / 1000))}|${String(e.pid)}|${(e.message.split('\n')[0] ?? '').slice(0, 80)}`;

async function sample(
  input: LogInput,
  format: LogFormat | 'auto',
  prefix: string | null,
): Promise<{ keys: Set<string>; format: LogFormat | null }> {
  const reader = createLogReader({ format, ...(prefix === null ? {} : { prefix }) });
  const events: LogEvent[] = [];
  let read = 0;
  for await (const chunk of readInput(input, input.gzip ? {} : { end: HEAD_BYTES })) {
    events.push(...reader.push(chunk));
    read += chunk.length;
    if (read >= HEAD_BYTES || events.length > SAMPLE * 2) break;
  }
  events.push(...reader.flush());
  const keys = new Set(
    events
      .filter((e) => e.at !== null && e.pid !== null)
      .slice(0, SAMPLE)
      .map(key),
  );
  return { keys, format: reader.format };
}

/**
 * Finds inputs that hold the same entries as another one: the same server's log in several
 * formats (`log_destination = 'stderr,csvlog,jsonlog'` writes each entry three times), or one
 * file given twice. Each entry is then counted once, from the richest format. Only files on
 * disk are compared (stdin and pipes can be read once only).
 */
export async function findTwins(
  inputs: readonly LogInput[],
  options: { readonly format: LogFormat | 'auto'; readonly prefix: string | null },
): Promise<TwinCheck> {
  const formats = new Map<LogInput, LogFormat | null>();
  if (inputs.filter((i) => i.path !== null).length < 2) return { keep: inputs, twins: [], formats };
  const samples = new Map<LogInput, Set<string>>();
  for (const input of inputs) {
    if (input.path === null) continue;
    const s = await sample(input, options.format, options.prefix);
    formats.set(input, s.format);
    if (s.keys.size > 0) samples.set(input, s.keys);
  }
  const richness = (i: LogInput): number => RICHNESS[formats.get(i) ?? 'stderr'];
  // Richest first, then in the order given: the first of a set of twins is the one counted.
  const ranked = [...samples.keys()].sort(
    (a, b) => richness(b) - richness(a) || inputs.indexOf(a) - inputs.indexOf(b),
  );
  const twins: Twin[] = [];
  const counted: LogInput[] = [];
  for (const input of ranked) {
    const keys = samples.get(input) ?? new Set<string>();
    const of = counted.find((other) => {
      const otherKeys = samples.get(other) ?? new Set<string>();
      let shared = 0;
      for (const k of keys) if (otherKeys.has(k)) shared++;
      return shared >= SAME * Math.min(keys.size, otherKeys.size);
    });
    if (of) twins.push({ input, format: formats.get(input) ?? null, of });
    else counted.push(input);
  }
  const dropped = new Set(twins.map((t) => t.input));
  return { keep: inputs.filter((i) => !dropped.has(i)), twins, formats };
}

/** The note a report carries for each set of twins. */
export function twinNotes(check: TwinCheck): { readonly name: string; readonly note: string }[] {
  const byKept = new Map<LogInput, Twin[]>();
  for (const t of check.twins) byKept.set(t.of, [...(byKept.get(t.of) ?? []), t]);
  return [...byKept].map(([kept, twins]) => {
    const names = twins.map((t) => `${t.input.name} (${t.format ?? 'unknown format'})`).join(' and ');
    return {
      name: kept.name,
      note: `${names} ${twins.length === 1 ? 'holds' : 'hold'} the same entries as ${kept.name} (${check.formats.get(kept) ?? 'unknown format'}): the same server's log in another format (log_destination writes each entry once per format), or the same file twice; counted once, from ${kept.name}`,
    };
  });
}

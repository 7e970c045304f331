import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEvent } from '../../../core/log-event.js';
import { userError } from '../../../core/errors.js';
import { sleep } from '../../../platform/abortable-sleep.js';
import { type LogFormat, logFormatOfFileName } from '../../../postgres-log/log-format.js';
import { LocaleCheck } from '../../../postgres-log/log-locale.js';
import { createLogReader, type LogReader } from '../../../postgres-log/log-reader.js';

export interface LogTailProblem {
  /**
   * `vanished`/`reappeared`: the file went away and came back; `rotated`/`truncated`: reading
   * starts again at the top of the (new) file; `unreadable`: it exists but cannot be read;
   * `unmatched`: lines do not match the prefix; `not_english`: the server's lc_messages.
   */
  readonly kind:
    'vanished' | 'reappeared' | 'rotated' | 'truncated' | 'unreadable' | 'unmatched' | 'not_english';
  readonly message: string;
}

export interface LogTailOptions {
  /** `auto`: from the file's name in a log directory, else from its first lines. */
  readonly format: LogFormat | 'auto';
  /** stderr: the server's `log_line_prefix`; detected from the lines when absent. */
  readonly prefix?: string;
  /** Read what the file already holds (default: start at its end, like `tail -f`). */
  readonly fromStart?: boolean;
  /** How often to look for new data, rotation and truncation. Default 250 ms. */
  readonly pollMs?: number;
  readonly signal: AbortSignal;
  readonly onEvents: (events: LogEvent[]) => void;
  readonly onProblem?: (problem: LogTailProblem) => void;
  /** Called each time a file is opened and positioned (at the start, after a rotation…). */
  readonly onOpen?: (path: string) => void;
}

const DEFAULT_POLL_MS = 250;
const READ_SIZE = 256 * 1024;
/** A log directory is listed again every this many polls (a listing is dearer than a stat). */
const LIST_EVERY = 4;

interface Current {
  readonly path: string;
  readonly handle: FileHandle;
  readonly inode: number;
  position: number;
  reader: LogReader;
  /** Polls in a row that found no new data (the pending entry is flushed after one). */
  quiet: number;
  warnedUnmatched: boolean;
}

/**
 * Follows a PostgreSQL server log until `signal` aborts: a file, or — given a directory — the
 * newest log file in it (the logging collector's `log_directory`, where it switches files).
 * Polls with `stat` (fs.watch misses events on many filesystems): a new inode is a rotation (the
 * rest of the old file is read first), a smaller size a truncation; a file that vanishes is
 * waited for. Rejects at once, with a user error, when the path cannot be read at the start.
 */
export async function tailLog(path: string, options: LogTailOptions): Promise<void> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const report = (problem: LogTailProblem) => options.onProblem?.(problem);
  const locale = new LocaleCheck();
  let warnedLocale = false;
  const deliver = (events: LogEvent[]) => {
    if (events.length === 0) return;
    if (!warnedLocale) {
      for (const event of events) locale.observe(event);
      const problem = locale.problem;
      if (problem !== null) {
        warnedLocale = true;
        report({ kind: 'not_english', message: problem });
      }
    }
    options.onEvents(events);
  };

  const isDirectory = await stat(path).then(
    (info) => info.isDirectory(),
    (error: unknown) => {
      throw unreadable(path, error);
    },
  );
  let format: LogFormat | 'auto' = options.format;
  let prefix = options.prefix;
  const newReader = (file: string): LogReader => {
    const chosen = format === 'auto' && isDirectory ? logFormatOfFileName(file) : format;
    return createLogReader({ format: chosen, ...(prefix === undefined ? {} : { prefix }) });
  };
  /** Once a reader has found the format and prefix, the next files are read the same way. */
  const remember = (reader: LogReader) => {
    if (!isDirectory && reader.format !== null) format = reader.format;
    if (reader.prefix !== null && reader.prefix !== '') prefix ??= reader.prefix;
  };

  const target = async (): Promise<string | null> =>
    isDirectory ? newestLogFile(path, options.format) : path;

  const openFile = async (file: string, fromStart: boolean): Promise<Current> => {
    const handle = await open(file, 'r');
    try {
      const info = await handle.stat();
      options.onOpen?.(file);
      return {
        path: file,
        handle,
        inode: info.ino,
        position: fromStart ? 0 : info.size,
        reader: newReader(file),
        quiet: 0,
        warnedUnmatched: false,
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  };

  const first = await target();
  if (first === null) {
    throw userError(
      'LOG_NOT_FOUND',
      `cannot read log directory ${path}: it holds no PostgreSQL log file (postgresql-*.log, .csv or .json) — check log_directory and that logging_collector is on`,
    );
  }
  let current: Current | null = await openFile(first, options.fromStart ?? false).catch((error: unknown) => {
    throw unreadable(first, error);
  });
  let vanished = false;
  let unreadableReported = false;
  const buffer = Buffer.allocUnsafe(READ_SIZE);

  /** Reads what was appended since the last look; returns whether there was anything. */
  const drain = async (file: Current): Promise<boolean> => {
    let any = false;
    for (;;) {
      const { bytesRead } = await file.handle.read(buffer, 0, READ_SIZE, file.position);
      if (bytesRead === 0) break;
      any = true;
      file.position += bytesRead;
      deliver(file.reader.push(buffer.subarray(0, bytesRead)));
      if (options.signal.aborted) break;
    }
    return any;
  };

  const finish = async (file: Current): Promise<void> => {
    deliver(file.reader.end());
    remember(file.reader);
    await file.handle.close();
  };

  let tick = 0;
  try {
    while (!options.signal.aborted) {
      if (current !== null) {
        const any = await drain(current);
        current.quiet = any ? 0 : current.quiet + 1;
        if (current.quiet === 1) deliver(current.reader.flush());
        checkUnmatched(current, report);
      }
      // Where the log is now: the same file, a rotated one, a truncated one, or none.
      const next = isDirectory && current !== null && tick % LIST_EVERY !== 0 ? current.path : await target();
      tick++;
      const info = next === null ? null : await stat(next).catch(() => null);
      if (next === null || info === null) {
        if (!vanished) {
          vanished = true;
          report({
            kind: 'vanished',
            message: `log file ${current?.path ?? path} disappeared; waiting for it to come back`,
          });
        }
      } else if (current === null || next !== current.path || info.ino !== current.inode) {
        if (current !== null) {
          await drain(current); // the last lines written before the switch
          await finish(current);
          current = null;
        }
        try {
          current = await openFile(next, true);
          unreadableReported = false;
          report(
            vanished
              ? { kind: 'reappeared', message: `log file ${next} is back; reading it from the start` }
              : { kind: 'rotated', message: `log file rotated; now reading ${next} from the start` },
          );
          vanished = false;
          continue;
        } catch (error) {
          // Gone again between stat and open: the next poll sees it as vanished.
          const gone = (error as { code?: string } | null)?.code === 'ENOENT';
          if (!gone && !unreadableReported) {
            unreadableReported = true;
            report({ kind: 'unreadable', message: unreadable(next, error).message });
          }
        }
      } else if (info.size < current.position) {
        deliver(current.reader.end());
        remember(current.reader);
        current.reader = newReader(current.path);
        current.position = 0;
        report({
          kind: 'truncated',
          message: `log file ${current.path} was truncated; reading it from the start`,
        });
        continue;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    if (current !== null) await finish(current);
  }
}

function checkUnmatched(file: Current, report: (problem: LogTailProblem) => void): void {
  if (file.warnedUnmatched) return;
  const stats = file.reader.stats;
  const unmatched = stats.skipped['unmatched-prefix'];
  if (unmatched < 20 || unmatched * 2 < stats.lines) return;
  file.warnedUnmatched = true;
  report({
    kind: 'unmatched',
    message:
      `${unmatched} of ${stats.lines} lines of ${file.path} do not start with log_line_prefix '${file.reader.prefix ?? ''}' ` +
      `(e.g. "${stats.skippedExamples['unmatched-prefix'] ?? ''}"): give the server's log_line_prefix with --log-prefix`,
  });
}

/**
 * The newest log file of a `log_directory` for this format (`auto` prefers jsonlog, then csvlog,
 * then stderr, when the collector writes several). Newest by modification time, then by name.
 */
export async function newestLogFile(directory: string, format: LogFormat | 'auto'): Promise<string | null> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const candidates = names.filter((name) => !name.startsWith('.') && !name.endsWith('.gz'));
  const order: readonly LogFormat[] = format === 'auto' ? ['jsonlog', 'csvlog', 'stderr'] : [format];
  for (const wanted of order) {
    let best: { name: string; mtime: number } | null = null;
    for (const name of candidates) {
      if (logFormatOfFileName(name) !== wanted) continue;
      const info = await stat(join(directory, name)).catch(() => null);
      if (info === null || !info.isFile()) continue;
      const mtime = info.mtimeMs;
      if (best === null || mtime > best.mtime || (mtime === best.mtime && name > best.name))
        best = { name, mtime };
    }
    if (best !== null) return join(directory, best.name);
  }
  return null;
}

function unreadable(path: string, error: unknown): Error {
  const code = (error as { code?: string } | null)?.code;
  const reason =
    code === 'EACCES' || code === 'EPERM'
      ? `permission denied — run Hindsight as a user that may read the server's log (e.g. one in the postgres group, with log_file_mode = 0640)`
      : code === 'ENOENT'
        ? 'no such file — check the path (SHOW log_directory; SHOW log_filename; on the server)'
        : code === 'EISDIR'
          ? 'it is a directory'
          : String((error as Error | null)?.message ?? error);
  return userError('LOG_UNREADABLE', `cannot read log file ${path}: ${reason}`, error);
}

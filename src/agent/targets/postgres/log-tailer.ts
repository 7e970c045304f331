import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { LogEvent } from '../../../core/log-event.js';
import { userError } from '../../../core/errors.js';
import { sleep } from '../../../platform/abortable-sleep.js';
import { type LogFormat, logFormatOfFileName } from '../../../postgres-log/log-format.js';
import { LocaleCheck } from '../../../postgres-log/log-locale.js';
import { createLogReader, type LogReader } from '../../../postgres-log/log-reader.js';
import type { LogTimezone } from '../../../postgres-log/log-timezone.js';

export interface LogTailProblem {
  /**
   * `vanished`/`reappeared`: the file went away and came back; `rotated`/`truncated`: reading
   * starts again at the top of the (new) file; `unreadable`: it exists but cannot be read;
   * `unmatched`: lines do not match the prefix; `not_english`: the server's lc_messages;
   * `ended`: a stream (standard input) reached its end — the command piping the log exited;
   * `resumed`: after a restart, reading goes on where the last run stopped (or says why it cannot).
   */
  readonly kind:
    | 'vanished'
    | 'reappeared'
    | 'rotated'
    | 'truncated'
    | 'unreadable'
    | 'unmatched'
    | 'not_english'
    | 'ended'
    | 'resumed';
  readonly message: string;
}

export interface LogTailOptions {
  /** `auto`: from the file's name in a log directory, else from its first lines. */
  readonly format: LogFormat | 'auto';
  /** stderr: the server's `log_line_prefix`; detected from the lines when absent. */
  readonly prefix?: string;
  /** The server's log_timezone, for zone abbreviations several zones share (`IST`, `CST`). */
  readonly timezone?: LogTimezone | null;
  /** Read what the file already holds (default: start at its end, like `tail -f`). */
  readonly fromStart?: boolean;
  /** How often to look for new data, rotation and truncation. Default 250 ms. */
  readonly pollMs?: number;
  readonly signal: AbortSignal;
  readonly onEvents: (events: LogEvent[]) => void;
  readonly onProblem?: (problem: LogTailProblem) => void;
  /** Called each time a file is opened and positioned (at the start, after a rotation…). */
  readonly onOpen?: (path: string) => void;
  /** Where the last run stopped, and where to keep this one's position (serve and agent restarts). */
  readonly resume?: LogResume;
}

/** Where reading stopped in a file: every entry before `position` was handed on. */
export interface LogPosition {
  readonly path: string;
  readonly inode: number;
  readonly position: number;
  /** The file's first bytes (base64, up to 64): a new file that reuses the inode starts otherwise. */
  readonly head: string;
}

export interface LogResume {
  readonly saved: LogPosition | null;
  /** Called when the file goes quiet with every entry read handed on (not after each read). */
  save(position: LogPosition): void;
}

const DEFAULT_POLL_MS = 250;
const READ_SIZE = 256 * 1024;
/** A log directory is listed again every this many polls (a listing is dearer than a stat). */
const LIST_EVERY = 4;
/**
 * How long a rotated-away file is still read after its successor appeared: syslog daemons write
 * to the old file until logrotate's postrotate signal reopens theirs (fluent-bit's rotate_wait).
 */
const ROTATE_WAIT_MS = 5000;
/** The first bytes of a file, compared on each poll: a copytruncate refilled past our position shows there. */
const HEAD_BYTES = 64;
/** After a restart, at most this much left unread is caught up; more, and reading starts at the end. */
const RESUME_MAX_BYTES = 64 * 1024 * 1024;

/** A log being read: its reader, and whether the unmatched-prefix warning was given. */
interface Reading {
  readonly path: string;
  reader: LogReader;
  warnedUnmatched: boolean;
}

interface Current extends Reading {
  readonly handle: FileHandle;
  readonly inode: number;
  position: number;
  /** Up to HEAD_BYTES of the file's start, as read: differs once the file was truncated and rewritten. */
  head: Buffer;
  /** Polls in a row that found no new data (the pending entry is flushed after one). */
  quiet: number;
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
  const deliver = localeCheckedDelivery(options.onEvents, report);

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
    return createLogReader({
      format: chosen,
      ...(prefix === undefined ? {} : { prefix }),
      timezone: options.timezone ?? null,
    });
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
        head: Buffer.alloc(0),
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
  /** Files rotated away, still read until they have been quiet for ROTATE_WAIT_MS. */
  const retiring: Current[] = [];
  /** The position last handed to `resume.save` (-1: none yet, in this file). */
  let lastSaved = -1;
  const saved = options.fromStart === true ? null : (options.resume?.saved ?? null);
  if (saved !== null) {
    const resumed = await resumeAt(saved, current, openFile);
    if (resumed.kind === 'same') {
      current.position = saved.position;
      current.head = Buffer.from(saved.head, 'base64');
      lastSaved = saved.position;
    } else if (resumed.kind === 'rotated') {
      retiring.push(resumed.old);
      current.position = 0;
    }
    report({ kind: 'resumed', message: resumed.message });
  }
  const retirePolls = Math.max(1, Math.ceil(ROTATE_WAIT_MS / pollMs));
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

  /**
   * Whether the file still starts as it did: after a copytruncate the size may already be past our
   * position again by the next poll, but the first line (its time) differs. Learns the head as it grows.
   */
  const sameStart = async (file: Current): Promise<boolean> => {
    const wanted = Math.min(HEAD_BYTES, file.position);
    if (wanted === 0) return true;
    const head = Buffer.alloc(wanted);
    const { bytesRead } = await file.handle.read(head, 0, wanted, 0);
    const known = file.head.length;
    if (bytesRead < known || !head.subarray(0, known).equals(file.head)) return false;
    if (bytesRead > known) file.head = head.subarray(0, bytesRead);
    return true;
  };

  /** Truncated (copytruncate): the rest is read from the copy when it is beside it, then the file from its start. */
  const restart = async (file: Current): Promise<void> => {
    const copy = await truncatedCopy(file);
    if (copy !== null) {
      const handle = await open(copy, 'r').catch(() => null);
      if (handle !== null) {
        try {
          for (let at = file.position; ;) {
            const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, at);
            if (bytesRead === 0) break;
            at += bytesRead;
            deliver(file.reader.push(buffer.subarray(0, bytesRead)));
          }
        } finally {
          await handle.close();
        }
      }
    }
    deliver(file.reader.end());
    remember(file.reader);
    file.reader = newReader(file.path);
    file.position = 0;
    file.head = Buffer.alloc(0);
    file.quiet = 0;
    report({
      kind: 'truncated',
      message: `log file ${file.path} was truncated; ${copy === null ? '' : `its last lines read from ${copy}; `}reading it from the start`,
    });
  };

  let tick = 0;
  try {
    while (!options.signal.aborted) {
      if (current !== null) {
        if (!(await sameStart(current))) await restart(current);
        const any = await drain(current);
        current.quiet = any ? 0 : current.quiet + 1;
        if (current.quiet === 1) {
          deliver(current.reader.flush());
          // Every entry read is handed on (no partial line held, no rotated file left): a restart may go on from here.
          const { path: file, inode, position, head } = current;
          if (current.reader.buffered === 0 && retiring.length === 0 && position !== lastSaved) {
            lastSaved = position;
            options.resume?.save({ path: file, inode, position, head: head.toString('base64') });
          }
        }
        checkUnmatched(current, report);
      }
      for (const old of [...retiring]) {
        const any = await drain(old);
        old.quiet = any ? 0 : old.quiet + 1;
        if (old.quiet === 1) deliver(old.reader.flush());
        if (old.quiet < retirePolls) continue;
        retiring.splice(retiring.indexOf(old), 1);
        await finish(old);
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
          // The last lines written before the switch, and those a daemon still writes there.
          await drain(current);
          deliver(current.reader.flush());
          current.quiet = 0;
          retiring.push(current);
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
        await restart(current);
        continue;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    for (const old of retiring) await finish(old);
    if (current !== null) await finish(current);
  }
}

type Resumed =
  | { readonly kind: 'same'; readonly message: string }
  | { readonly kind: 'rotated'; readonly old: Current; readonly message: string }
  | { readonly kind: 'end'; readonly message: string };

/**
 * Where to go on after a restart: in the same file at the saved position; or, when it was rotated
 * meanwhile, in the old file (found beside it by its inode) from there, then the new one from its
 * start — unless more than RESUME_MAX_BYTES are left to read, or the file cannot be found.
 */
async function resumeAt(
  saved: LogPosition,
  current: Current,
  openFile: (file: string, fromStart: boolean) => Promise<Current>,
): Promise<Resumed> {
  const end = (why: string): Resumed => ({
    kind: 'end',
    message: `log file ${current.path}: ${why}; reading from its end (entries written meanwhile: hindsight analyze)`,
  });
  const head = Buffer.from(saved.head, 'base64');
  const startsAs = async (file: Current | string): Promise<boolean> => {
    const handle = typeof file === 'string' ? await open(file, 'r').catch(() => null) : file.handle;
    if (handle === null) return false;
    try {
      const bytes = Buffer.alloc(head.length);
      const { bytesRead } = await handle.read(bytes, 0, head.length, 0);
      return bytesRead === head.length && bytes.equals(head);
    } finally {
      if (typeof file === 'string') await handle.close();
    }
  };
  const behind = (size: number) => `${Math.round((size - saved.position) / 1024)} KiB`;
  if (saved.path === current.path && saved.inode === current.inode) {
    // `current.position` is the file's size (opened at its end).
    if (current.position < saved.position || !(await startsAs(current)))
      return end('it was truncated since the last run');
    if (current.position - saved.position > RESUME_MAX_BYTES)
      return end(`${behind(current.position)} were written since the last run, too many to catch up`);
    return {
      kind: 'same',
      message: `log file ${current.path}: going on where the last run stopped (${behind(current.position)} to catch up)`,
    };
  }
  // Rotated (or, in a log_directory, the collector switched files): the old file by its inode.
  const directory = dirname(saved.path);
  if (directory !== dirname(current.path)) return end(`the last run read another log (${saved.path})`);
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(directory, name);
    if (path === current.path) continue;
    const info = await stat(path).catch(() => null);
    if (info?.ino !== saved.inode || !info.isFile() || info.size < saved.position) continue;
    if (!(await startsAs(path))) continue;
    if (info.size - saved.position + current.position > RESUME_MAX_BYTES)
      return end('it was rotated since the last run, and too much was written since to catch up');
    const old = await openFile(path, true).catch(() => null);
    if (old === null) break;
    old.position = saved.position;
    old.head = head;
    return {
      kind: 'rotated',
      old,
      message: `log file ${saved.path} was rotated since the last run: reading the rest of ${path}, then ${current.path} from its start`,
    };
  }
  return end(`the file read by the last run (${saved.path}) is gone`);
}

/**
 * The copy logrotate's copytruncate made of `file` before truncating it (`postgresql.log.1`,
 * `postgresql.log-20260301`…): a file beside it, named after it, that starts as it did and holds
 * more than was read. Null when there is none (the lines written between the last read and the
 * truncation are then lost, as for `tail -F`).
 */
async function truncatedCopy(file: Current): Promise<string | null> {
  if (file.head.length === 0) return null;
  const directory = dirname(file.path);
  const name = basename(file.path);
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const candidate of names) {
    if (candidate === name || !candidate.startsWith(name) || candidate.endsWith('.gz')) continue;
    const path = join(directory, candidate);
    const info = await stat(path).catch(() => null);
    if (info === null || !info.isFile() || info.size <= file.position) continue;
    const handle = await open(path, 'r').catch(() => null);
    if (handle === null) continue;
    try {
      const head = Buffer.alloc(file.head.length);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      if (bytesRead === head.length && head.equals(file.head)) return path;
    } finally {
      await handle.close();
    }
  }
  return null;
}

export type LogStreamOptions = Omit<LogTailOptions, 'fromStart' | 'onOpen' | 'resume'>;

/**
 * Reads a log from a stream — standard input, where `kubectl logs -f` or `journalctl -f -o json`
 * pipe it — until it ends or `signal` aborts. The format is told from the first lines as for a
 * file; the entry being assembled is handed on once the stream has been quiet for `pollMs`. The
 * end of the stream (or a read error) is reported as a problem and resolves: the piped command
 * exited, and whoever reads on (watch's sampling) goes on without the log.
 */
export async function tailStream(input: Readable, name: string, options: LogStreamOptions): Promise<void> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const report = (problem: LogTailProblem) => options.onProblem?.(problem);
  const deliver = localeCheckedDelivery(options.onEvents, report);
  const reading: Reading = {
    path: name,
    reader: createLogReader({
      format: options.format,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      timezone: options.timezone ?? null,
    }),
    warnedUnmatched: false,
  };
  if (options.signal.aborted) return;
  await new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const stop = (problem: LogTailProblem | null): void => {
      clearTimeout(quiet);
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      options.signal.removeEventListener('abort', onAbort);
      // Paused, standard input no longer holds the process open.
      input.pause();
      deliver(reading.reader.end());
      if (problem !== null) report(problem);
      resolve();
    };
    const onData = (chunk: Buffer | string): void => {
      deliver(reading.reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      checkUnmatched(reading, report);
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        deliver(reading.reader.flush());
        checkUnmatched(reading, report);
      }, pollMs);
    };
    const onEnd = (): void => {
      const read = reading.reader.stats;
      stop({
        kind: 'ended',
        message:
          `${name} ended after ${read.lines} lines (the command piping the log exited): ` +
          'no more deadlock reports from the log; sampling goes on — start the pipe again to read the log',
      });
    };
    const onError = (error: Error): void => {
      stop({
        kind: 'unreadable',
        message: `cannot read the log from ${name}: ${error.message}; sampling goes on`,
      });
    };
    const onAbort = (): void => {
      stop(null);
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Hands events on, first reporting once that the server writes its messages in another language. */
function localeCheckedDelivery(
  onEvents: (events: LogEvent[]) => void,
  report: (problem: LogTailProblem) => void,
): (events: LogEvent[]) => void {
  const locale = new LocaleCheck();
  let warned = false;
  return (events) => {
    if (events.length === 0) return;
    if (!warned) {
      for (const event of events) locale.observe(event);
      const problem = locale.problem;
      if (problem !== null) {
        warned = true;
        report({ kind: 'not_english', message: problem });
      }
    }
    onEvents(events);
  };
}

function checkUnmatched(file: Reading, report: (problem: LogTailProblem) => void): void {
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
 * then stderr, when the collector writes several; a format the collector does not write takes any
 * file). Newest by modification time, then by name.
 */
export async function newestLogFile(directory: string, format: LogFormat | 'auto'): Promise<string | null> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const candidates = names.filter((name) => !name.startsWith('.') && !name.endsWith('.gz'));
  const order: readonly LogFormat[] = format === 'auto' ? ['jsonlog', 'csvlog', 'stderr'] : [format];
  // The collector names its files by format; another program's (syslog, journald…) may name them anyhow.
  const byName = format === 'auto' || format === 'stderr' || format === 'csvlog' || format === 'jsonlog';
  for (const wanted of order) {
    let best: { name: string; mtime: number } | null = null;
    for (const name of candidates) {
      if (byName && logFormatOfFileName(name) !== wanted) continue;
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

import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { userError } from '../core/errors.js';
import type { LogTimezone } from '../postgres-log/log-timezone.js';
import type { SyslogYear } from '../postgres-log/syslog-parser.js';

/** One input of `hindsight analyze`: a file (plain or gzip), stdin (`-`), or a pipe. */
export interface LogInput {
  readonly name: string;
  /** Bytes on disk (compressed size for gzip), null for stdin and pipes. */
  readonly size: number | null;
  readonly gzip: boolean;
  /** A regular file, so that byte ranges can be read by worker threads. */
  readonly path: string | null;
  /**
   * A pipe or device named on the command line (`analyze <(zcat old.log.gz)`): read once, in
   * order, like stdin — it cannot be read at an offset.
   */
  readonly pipe?: string;
  /** Where a syslog file's `Mon DD` timestamps take their year: `--year`, else the file's modification time. */
  readonly syslogYear?: SyslogYear;
  /** `--log-timezone`: the server's log_timezone, for zone abbreviations several zones share. */
  readonly logTimezone?: LogTimezone;
}

/**
 * Chunk size of streams (gzip output, and the file under it). 64 KB, not 1 MB: a fresh 1 MB buffer
 * per chunk grew each worker's RSS by tens of MB that no heap statistic showed (above malloc's
 * mmap threshold, freed late, kept by the process).
 */
const CHUNK = 1 << 16;

const isGzip = async (path: string): Promise<boolean> => {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
};

/** Checks that the file exists and is readable, and whether it is gzip (by its magic bytes). */
export async function describeInput(name: string): Promise<LogInput> {
  if (name === '-') return { name: 'stdin', size: null, gzip: false, path: null };
  const info = await stat(name).catch((cause: unknown) => {
    throw userError(
      'ANALYZE_INPUT_UNREADABLE',
      `cannot read ${name}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}. Check the path (a log file, or - for stdin).`,
      cause,
    );
  });
  if (info.isDirectory()) {
    throw userError(
      'ANALYZE_INPUT_IS_DIRECTORY',
      `${name} is a directory: give the log files in it, e.g. ${name}/*.log (or *.csv, *.json, *.gz)`,
    );
  }
  if (!info.isFile()) return { name, size: null, gzip: false, path: null, pipe: name };
  const gzip = await isGzip(name).catch((cause: unknown) => {
    throw userError(
      'ANALYZE_INPUT_UNREADABLE',
      `cannot read ${name}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      cause,
    );
  });
  if (!gzip && (await looksBinary(name))) {
    throw userError(
      'ANALYZE_INPUT_BINARY',
      `${name} is a binary file (NUL bytes in its first 8 KiB), not a PostgreSQL server log: give the server's log (stderr, csvlog or jsonlog text; gzip-compressed is fine)`,
    );
  }
  return { name, size: info.size, gzip, path: name, syslogYear: { notAfter: info.mtimeMs } };
}

/** Server logs are text: a NUL byte near the start means a binary (or UTF-16) file. */
async function looksBinary(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).includes(0);
  } finally {
    await handle.close();
  }
}

/**
 * A gzip file's uncompressed size from its trailer (ISIZE: the size modulo 4 GiB, of the last
 * member), or its size on disk when it is not gzip. Good enough to skip to near the end.
 */
export async function uncompressedSize(input: LogInput): Promise<number> {
  if (input.path === null || input.size === null) return 0;
  if (!input.gzip || input.size < 4) return input.size;
  const handle = await open(input.path, 'r');
  try {
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, input.size - 4);
    return trailer.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}

/**
 * The input's bytes in chunks (decompressed for gzip), optionally one byte range of a plain file.
 * A chunk may be overwritten by the next one: consume it before asking for the next. A gzip stream that ends early (a truncated file) ends the data with a warning
 * instead of an error: what was read is still analyzed.
 */
export async function* readInput(
  input: LogInput,
  options: {
    readonly start?: number;
    readonly end?: number;
    readonly onWarning?: (message: string) => void;
    readonly onRawBytes?: (n: number) => void;
  } = {},
): AsyncGenerator<Buffer> {
  if (input.path !== null && !input.gzip) {
    yield* readPlain(
      input.path,
      options.start ?? 0,
      options.end ?? Number.POSITIVE_INFINITY,
      options.onRawBytes,
    );
    return;
  }
  let source: Readable;
  if (input.path === null)
    source =
      input.pipe === undefined ? process.stdin : createReadStream(input.pipe, { highWaterMark: CHUNK });
  else {
    source = createReadStream(input.path, {
      highWaterMark: CHUNK,
      ...(options.start === undefined ? {} : { start: options.start }),
      ...(options.end === undefined ? {} : { end: options.end - 1 }),
    });
  }
  if (options.onRawBytes) {
    const count = options.onRawBytes;
    source.on('data', (chunk: Buffer) => {
      count(chunk.length);
    });
  }
  if (input.path === null) {
    // stdin or a pipe: gzip or not is known from its first bytes only.
    const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await chunks.next();
    if (first.done === true) return;
    const rest = (async function* () {
      yield first.value;
      for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value;
    })();
    if (first.value[0] === 0x1f && first.value[1] === 0x8b) {
      yield* gunzipped(Readable.from(rest), input.name, options.onWarning);
      return;
    }
    yield* rest;
    return;
  }
  if (!input.gzip) {
    for await (const chunk of source) yield chunk as Buffer;
    return;
  }
  yield* gunzipped(source, input.name, options.onWarning);
}

/** Plain files are read this much at a time, into one buffer. */
const PLAIN_READ = 1 << 20;

/**
 * A plain file's bytes `[start, end)`, read synchronously into one reused 1 MB buffer: each chunk
 * is consumed (decoded) before the next is read. A stream paid a thread-pool round trip per read
 * (13 % of the time idle with 64 KB reads) and a fresh buffer per chunk (which, at 1 MB, grew RSS
 * by tens of MB per worker). Only worker threads and the main thread's own streaming call this,
 * so blocking reads hold up nothing else.
 */
function* readPlain(
  path: string,
  start: number,
  end: number,
  onRawBytes?: (n: number) => void,
): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(PLAIN_READ);
    for (let position = start; position < end;) {
      const read = readSync(fd, buffer, 0, Math.min(PLAIN_READ, end - position), position);
      if (read === 0) return;
      position += read;
      onRawBytes?.(read);
      yield buffer.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}

async function* gunzipped(
  source: Readable,
  name: string,
  onWarning?: (message: string) => void,
): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: CHUNK });
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR') {
      onWarning?.(
        `${name}: the gzip data ${code === 'Z_BUF_ERROR' ? 'ends early (truncated file?)' : 'is corrupt'}; analyzed what could be read`,
      );
      return;
    }
    throw error;
  }
}

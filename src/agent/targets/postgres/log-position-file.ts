import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogPosition, LogResume } from './log-tailer.js';

export interface LogPositionFile extends LogResume {
  /** Resolves once the last position handed to `save` is on disk (or its write failed). */
  settled(): Promise<void>;
}

/**
 * Keeps where a tailed log was read up to in a small JSON file (in serve's data directory), so that
 * after a restart the tailer goes on there instead of at the file's end. Each write replaces the
 * file whole (temporary file, then rename); writes never overlap and the latest position wins. A
 * failed write is reported once and tailing goes on: only a restart would read from the end again.
 */
export async function openLogPositionFile(
  file: string,
  onProblem: (message: string) => void,
): Promise<LogPositionFile> {
  const saved = await readFile(file, 'utf8').then(parsePosition, () => null);
  let pending: LogPosition | null = null;
  let writing: Promise<void> | null = null;
  let warned = false;
  const write = async (): Promise<void> => {
    try {
      await mkdir(dirname(file), { recursive: true });
      for (let next = pending; next !== null; next = pending) {
        pending = null;
        await writeFile(`${file}.tmp`, `${JSON.stringify(next)}\n`);
        await rename(`${file}.tmp`, file);
      }
    } catch (error) {
      if (!warned) {
        warned = true;
        onProblem(
          `could not keep the log position in ${file} (${error instanceof Error ? error.message : String(error)}): after a restart the log is read from its end`,
        );
      }
    } finally {
      writing = null;
    }
  };
  return {
    saved,
    save(position) {
      pending = position;
      writing ??= write();
    },
    async settled() {
      while (writing !== null) await writing;
    },
  };
}

/** The saved position, or null when the file holds something else (written by hand, cut short). */
function parsePosition(text: string): LogPosition | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { path, inode, position, head } = value as Record<string, unknown>;
    if (typeof path !== 'string' || typeof head !== 'string') return null;
    if (typeof inode !== 'number' || typeof position !== 'number' || position < 0) return null;
    return { path, inode, position, head };
  } catch {
    return null;
  }
}

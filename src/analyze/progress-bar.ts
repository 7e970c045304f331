import { formatBytes } from './report-format.js';

/**
 * A one-line progress bar on stderr, redrawn at most every 100 ms; only when stderr is a terminal
 * and the input is large enough that waiting is noticeable.
 */
export class ProgressBar {
  readonly #total: number;
  readonly #stream: NodeJS.WriteStream;
  readonly #started = Date.now();
  #done = 0;
  #drawnAt = 0;

  private constructor(total: number, stream: NodeJS.WriteStream) {
    this.#total = total;
    this.#stream = stream;
  }

  /** A bar, or null when stderr is not a TTY or there is less than `minBytes` to read. */
  static create(
    total: number,
    options: { readonly stream?: NodeJS.WriteStream; readonly minBytes?: number } = {},
  ): ProgressBar | null {
    const stream = options.stream ?? process.stderr;
    if (!stream.isTTY || total < (options.minBytes ?? 32 * 1024 * 1024)) return null;
    return new ProgressBar(total, stream);
  }

  advance(bytes: number): void {
    this.#done += bytes;
    const now = Date.now();
    if (now - this.#drawnAt < 100) return;
    this.#drawnAt = now;
    const share = Math.min(1, this.#done / this.#total);
    const width = Math.max(10, Math.min(40, (this.#stream.columns || 80) - 45));
    const filled = Math.round(share * width);
    const seconds = Math.max(0.001, (now - this.#started) / 1000);
    this.#stream.write(
      `\r${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${String(Math.round(share * 100)).padStart(3)}%  ${formatBytes(this.#done)}  ${formatBytes(this.#done / seconds)}/s `,
    );
  }

  finish(): void {
    this.#stream.write('\r\x1b[2K');
  }
}

import { StringDecoder } from 'node:string_decoder';

/**
 * Called for each complete line: `text.slice(start, end)` is the line, without its `\n` (a `\r`
 * before it is cut too). `truncated` says the line was longer than the cap and was cut.
 */
export type LineHandler = (text: string, start: number, end: number, truncated: boolean) => void;

/**
 * Splits a byte stream into lines without making a string per line: each chunk is decoded once
 * (a UTF-8 sequence split between chunks is kept for the next one) and lines are handed on as
 * offsets into that text. A line longer than `maxLineLength` is cut there and the rest of it is
 * dropped, so what is buffered never exceeds the cap.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLineLength: number;
  readonly #onLine: LineHandler;
  /** Pieces of the current, unfinished line (no `\n` in them). */
  #carry: string[] = [];
  #carryLength = 0;
  /** The current line passed the cap: drop its text until its end. */
  #dropping = false;

  constructor(maxLineLength: number, onLine: LineHandler) {
    this.#maxLineLength = maxLineLength;
    this.#onLine = onLine;
  }

  /** Characters held for an unfinished line. */
  get buffered(): number {
    return this.#carryLength;
  }

  push(chunk: Buffer): void {
    this.#text(this.#decoder.write(chunk));
  }

  /** Text already decoded (from inside an envelope, as the RDS API's JSON string). */
  pushText(text: string): void {
    this.#text(text);
  }

  /** Ends the stream: a last line without `\n` is handed on too. */
  end(): void {
    this.#text(this.#decoder.end());
    if (this.#carryLength > 0 || this.#dropping) {
      const line = this.#carry.join('');
      this.#carry = [];
      this.#carryLength = 0;
      const truncated = this.#dropping;
      this.#dropping = false;
      this.#emit(line, 0, line.length, truncated);
    }
  }

  #text(text: string): void {
    if (text.length === 0) return;
    let newline = text.indexOf('\n');
    if (newline < 0) {
      this.#hold(text);
      return;
    }
    let start = 0;
    if (this.#carryLength > 0 || this.#dropping) {
      // Finish the carried line with the head of this piece.
      this.#hold(text.slice(0, newline));
      const line = this.#carry.join('');
      const truncated = this.#dropping;
      this.#carry = [];
      this.#carryLength = 0;
      this.#dropping = false;
      this.#emit(line, 0, line.length, truncated);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    const cap = this.#maxLineLength;
    while (newline >= 0) {
      if (newline - start > cap) this.#emit(text, start, start + cap, true);
      else this.#emit(text, start, newline, false);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.#hold(start === 0 ? text : text.slice(start));
  }

  #hold(piece: string): void {
    if (this.#dropping) return;
    const room = this.#maxLineLength - this.#carryLength;
    if (piece.length > room) {
      if (room > 0) this.#carry.push(piece.slice(0, room));
      this.#carryLength = this.#maxLineLength;
      this.#dropping = true;
      return;
    }
    this.#carry.push(piece);
    this.#carryLength += piece.length;
  }

  #emit(text: string, start: number, end: number, truncated: boolean): void {
    const last = end > start && text.charCodeAt(end - 1) === 13 /* \r */ ? end - 1 : end;
    this.#onLine(text, start, last, truncated);
  }
}

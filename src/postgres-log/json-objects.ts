/** A line sink: the text, the line's bounds in it, and whether it was cut at the length cap. */
export type LineSink = (text: string, start: number, end: number, truncated: boolean) => void;

/**
 * Turns a pretty-printed JSON array of objects (`gcloud logging read --format=json`, a Logs
 * Explorer download) into one object per line for a line reader; one-line objects pass through.
 * Braces are counted outside strings, so an object ends where its depth returns to 0; `[`, `]`
 * and the commas between objects are dropped. An object longer than `maxLength` is passed on cut
 * (the reader skips it as not JSON) rather than held.
 */
export class JsonObjectLines {
  readonly #next: LineSink;
  readonly #maxLength: number;
  #parts: string[] = [];
  #length = 0;
  #depth = 0;
  #inString = false;

  constructor(next: LineSink, maxLength: number) {
    this.#next = next;
    this.#maxLength = maxLength;
  }

  get buffered(): number {
    return this.#length;
  }

  readonly line = (text: string, start: number, end: number, truncated: boolean): void => {
    if (this.#depth === 0) {
      // Between objects: skip the array's brackets and separators; a whole object on its line passes.
      let first = start;
      while (first < end && ' \t[],'.includes(text[first] ?? '')) first++;
      if (first === end) return;
      let last = end;
      while (last > first && ' \t],'.includes(text[last - 1] ?? '')) last--;
      if (text.charCodeAt(first) !== 123 /* { */) {
        this.#next(text, start, end, truncated);
        return;
      }
      if (this.#scan(text, first, last) === 0) {
        this.#next(text, first, last, truncated);
        return;
      }
      this.#hold(text.slice(first, last));
      return;
    }
    if (this.#scan(text, start, end) > 0) {
      this.#hold(text.slice(start, end));
      if (this.#length > this.#maxLength) this.#emit(true);
      return;
    }
    let last = end;
    while (last > start && ' \t],'.includes(text[last - 1] ?? '')) last--;
    this.#hold(text.slice(start, last));
    this.#emit(truncated);
  };

  /** A cut object at the end of input goes on as it is (the reader reports it). */
  end(): void {
    if (this.#parts.length > 0) this.#emit(false);
  }

  #hold(part: string): void {
    this.#parts.push(part);
    this.#length += part.length;
  }

  #emit(truncated: boolean): void {
    const object = this.#parts.join('');
    this.#parts = [];
    this.#length = 0;
    this.#depth = 0;
    this.#inString = false;
    this.#next(object, 0, object.length, truncated);
  }

  /** Counts the braces of a line; returns the depth after it. */
  #scan(text: string, start: number, end: number): number {
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (this.#inString) {
        if (c === 92 /* \ */) i++;
        else if (c === 34 /* " */) this.#inString = false;
      } else if (c === 34) this.#inString = true;
      else if (c === 123 /* { */) this.#depth++;
      else if (c === 125 /* } */) this.#depth--;
    }
    return this.#depth;
  }
}

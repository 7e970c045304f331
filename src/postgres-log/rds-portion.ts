/**
 * AWS RDS / Aurora: what `aws rds download-db-log-file-portion` prints by default (JSON, the API's
 * DownloadDBLogFilePortion response): `{"LogFileData": "…", "AdditionalDataPending": …, "Marker":
 * …}`, the log's text — stderr with RDS's fixed log_line_prefix `%t:%r:%u@%d:[%p]:` — in one JSON
 * string per response, often several responses one after another (a loop over `--starting-token`,
 * or the CLI's pages). The string is unescaped as it streams: the text of a whole log file may be one
 * "line" of JSON, so it is never held whole.
 */

const KEY = '"LogFileData"';
/** After the key: spaces, a colon, spaces, the opening quote. */
const AFTER_KEY = /^\s*:\s*"/;
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
};

export class RdsPortionText {
  readonly #onText: (text: string) => void;
  /** Outside a LogFileData string: the last characters seen, so a key split across chunks is found. */
  #seek = '';
  #inString = false;
  /** Inside the string: an escape under way (`\`, or `\u` and some of its hex digits). */
  #escape: string | null = null;
  /** What this chunk unescaped so far. */
  #parts: string[] = [];

  constructor(onText: (text: string) => void) {
    this.#onText = onText;
  }

  /** Characters held (a partial key or escape): a few at most. */
  get buffered(): number {
    return this.#seek.length + (this.#escape?.length ?? 0);
  }

  push(text: string): void {
    this.#parts = [];
    let at = 0;
    while (at < text.length) {
      if (!this.#inString) {
        const found = this.#findValue(text, at);
        if (found < 0) break;
        at = found;
        this.#inString = true;
        continue;
      }
      at = this.#string(text, at);
    }
    // One piece per chunk: the line splitter gets a few long strings, not one per escape.
    if (this.#parts.length > 0) this.#onText(this.#parts.join(''));
  }

  /** Where the value of the next LogFileData key starts, or -1 (what could be its start is kept). */
  #findValue(text: string, from: number): number {
    const seen = this.#seek + text.slice(from);
    // `seen` starts `seek.length` characters before `from`.
    const base = from - this.#seek.length;
    for (let key = seen.indexOf(KEY); key >= 0; key = seen.indexOf(KEY, key + 1)) {
      const window = seen.slice(key + KEY.length, key + KEY.length + 64);
      const after = AFTER_KEY.exec(window);
      if (after !== null) {
        this.#seek = '';
        return base + key + KEY.length + after[0].length;
      }
      // The key without its value yet (split across chunks): keep from the key on.
      if (key + KEY.length + 64 > seen.length && /^\s*(?::\s*)?$/.test(window)) {
        this.#seek = seen.slice(key);
        return -1;
      }
    }
    this.#seek = seen.slice(-KEY.length);
    return -1;
  }

  /** Unescapes from `at` until the string's closing quote or the chunk's end; returns where it stopped. */
  #string(text: string, at: number): number {
    let start = at;
    let i = at;
    for (; i < text.length; i++) {
      if (this.#escape !== null) {
        this.#escape += text.charAt(i);
        if (this.#escape.startsWith('u')) {
          if (this.#escape.length < 5) continue;
          this.#parts.push(String.fromCharCode(Number.parseInt(this.#escape.slice(1), 16)));
        } else this.#parts.push(ESCAPES[this.#escape] ?? this.#escape);
        this.#escape = null;
        start = i + 1;
        continue;
      }
      const code = text.charCodeAt(i);
      if (code === 92 /* \ */) {
        if (i > start) this.#parts.push(text.slice(start, i));
        this.#escape = '';
      } else if (code === 34 /* " */) {
        if (i > start) this.#parts.push(text.slice(start, i));
        this.#inString = false;
        return i + 1;
      }
    }
    if (this.#escape === null && i > start) this.#parts.push(text.slice(start, i));
    return i;
  }
}

/** The log text inside a sample of responses (to detect its prefix). */
export function rdsPortionText(sample: string): string {
  const out: string[] = [];
  new RdsPortionText((text) => out.push(text)).push(sample);
  return out.join('');
}

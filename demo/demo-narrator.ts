import pc from 'picocolors';
import type { Clock } from '../src/core/ports.js';
import { sleep } from '../src/platform/abortable-sleep.js';
import { terminalText } from '../src/cli/terminal-text.js';

export type Voice = 'step' | 'hindsight' | 'page' | 'users' | 'people' | 'note' | 'problem';

const LABEL: Readonly<Record<Voice, string>> = {
  step: 'demo',
  hindsight: 'hindsight',
  page: 'paged',
  users: 'users',
  people: 'on call',
  note: 'note',
  problem: 'problem',
};

/**
 * The demo's voice: one line per thing that happens, `[mm:ss] who  what`, colored on a terminal.
 * Text from the server or the database is printed through `terminalText` (no control characters).
 * `pause` lets a person read; in `--ci` it returns at once.
 */
export class DemoNarrator {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #clock: Clock;
  readonly #startedAt: number;
  readonly #paced: boolean;
  readonly #signal: AbortSignal;
  readonly #color: boolean;

  constructor(options: {
    out: NodeJS.WritableStream & { isTTY?: boolean };
    clock: Clock;
    paced: boolean;
    signal: AbortSignal;
  }) {
    this.#out = options.out;
    this.#clock = options.clock;
    this.#startedAt = options.clock.now();
    this.#paced = options.paced;
    this.#signal = options.signal;
    this.#color = options.out.isTTY === true && process.env.NO_COLOR === undefined;
  }

  /** Seconds since the demo started. */
  elapsedSeconds(): number {
    return (this.#clock.now() - this.#startedAt) / 1000;
  }

  say(voice: Voice, text: string): void {
    const s = Math.floor(this.elapsedSeconds());
    const stamp = `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
    const label = LABEL[voice].padEnd(9);
    const [first = '', ...rest] = text.split('\n');
    this.#out.write(`${this.#paint(voice, `${stamp} ${label}`)} ${terminalText(first)}\n`);
    if (rest.length > 0) this.detail(rest.join('\n'));
  }

  /** Indented detail under the last line (multi-line text kept). */
  detail(text: string): void {
    for (const line of text.split('\n')) this.#out.write(`${' '.repeat(18)}${terminalText(line)}\n`);
  }

  raw(text: string): void {
    this.#out.write(text);
  }

  /** A moment to read (skipped in --ci). */
  async pause(ms: number): Promise<void> {
    if (this.#paced) await sleep(ms, this.#signal);
  }

  #paint(voice: Voice, text: string): string {
    if (!this.#color) return text;
    switch (voice) {
      case 'step':
        return pc.cyan(text);
      case 'hindsight':
        return pc.magenta(pc.bold(text));
      case 'page':
        return pc.yellow(pc.bold(text));
      case 'users':
        return pc.dim(text);
      case 'people':
      case 'note':
        return pc.green(text);
      case 'problem':
        return pc.red(text);
    }
  }
}
